package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"gotk.dev/pkg/testenv"
)

// failures recaps the failed waits of the run; TestMain prints them last,
// after the controllers' logs, so a truncated output still shows them.
var (
	failuresMu sync.Mutex
	failures   []string
)

// fatalf fails the test like t.Fatalf and keeps the message for the recap.
func fatalf(t testing.TB, format string, args ...any) {
	t.Helper()
	failuresMu.Lock()
	failures = append(failures, t.Name()+": "+fmt.Sprintf(format, args...))
	failuresMu.Unlock()
	t.Fatalf(format, args...)
}

// eventually polls fn until it returns nil and returns how long that
// took; after timeout the test fails with fn's last error.
func eventually(t testing.TB, timeout time.Duration, what string, fn func() error) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		err := fn()
		if err == nil {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			fatalf(t, "%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// get reads obj's current state by its namespace and name.
func get(ctx context.Context, obj client.Object) error {
	return env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
}

// readyStatus returns nil when obj is Ready, otherwise an error with its
// Ready reason and message.
func readyStatus(ctx context.Context, obj conditions.Setter) error {
	if err := get(ctx, obj); err != nil {
		return err
	}
	if conditions.IsReady(obj) && obj.GetGeneration() > 0 {
		return nil
	}
	return fmt.Errorf("%s: Ready %s %s", obj.GetName(), conditions.GetReason(obj, meta.ReadyCondition), conditions.GetMessage(obj, meta.ReadyCondition))
}

// absent returns nil when obj does not exist.
func absent(ctx context.Context, obj client.Object) error {
	err := get(ctx, obj)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("%T %s/%s exists", obj, obj.GetNamespace(), obj.GetName())
}

// readSeedObjects decodes a multi-document file of the seed's cluster
// objects, keyed by kind.
func readSeedObjects(t testing.TB, name string) map[string]*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(seedDir(t), "cluster", name))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeManifests(string(data))
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string]*unstructured.Unstructured{}
	for _, u := range objs {
		byKind[u.GetKind()] = u
	}
	return byKind
}

// decodeManifests splits multi-document YAML (or JSON) into objects.
func decodeManifests(text string) ([]*unstructured.Unstructured, error) {
	return testenv.DecodeManifests(text)
}

// applyManifests server-side applies every object of a multi-document
// YAML text, as `kubectl apply -f` would.
func applyManifests(ctx context.Context, t testing.TB, text string) {
	t.Helper()
	objs, err := decodeManifests(text)
	if err != nil {
		t.Fatal(err)
	}
	applyYAML(ctx, t, objs...)
}

func seedDir(t testing.TB) string {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "examples", "seed")
}

// treeFiles reads every file under dir as repository path → content.
func treeFiles(t testing.TB, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// applyYAML server-side applies objects as a user with kubectl would.
func applyYAML(ctx context.Context, t testing.TB, objs ...*unstructured.Unstructured) {
	t.Helper()
	for _, u := range objs {
		if err := env.Client.Patch(ctx, u, client.Apply, client.FieldOwner("kubectl"), client.ForceOwnership); err != nil {
			t.Fatalf("applying %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
}

// createSecret creates (or replaces) a Secret in ns.
func createSecret(ctx context.Context, t testing.TB, namespace, name string, data map[string]string) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, StringData: data}
	if err := env.Client.Create(ctx, s); apierrors.IsAlreadyExists(err) {
		old := &corev1.Secret{ObjectMeta: s.ObjectMeta}
		_ = env.Client.Delete(ctx, old)
		err = env.Client.Create(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
}

// githubPush posts a push event signed with token to a Receiver's URL, as
// GitHub does, and expects it accepted. A Receiver just reported Ready may
// not be in the controller's cache for a few milliseconds (404/503): that
// is retried briefly, as GitHub redelivers.
func githubPush(t testing.TB, url, token string) {
	t.Helper()
	body := []byte(`{"ref":"refs/heads/main"}`)
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write(body)
	deadline := time.Now().Add(5 * time.Second)
	for {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			return
		case (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusServiceUnavailable) && time.Now().Before(deadline):
			time.Sleep(100 * time.Millisecond)
		default:
			t.Fatalf("webhook answered %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
		}
	}
}

// receiverURL is the address a Receiver with webhook path p listens on.
func receiverURL(p string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", ctls.ReceiverPort, p) }

func ptrInt32(v int32) *int32 { return &v }

// unstructuredSet sets a string field of u.
func unstructuredSet(u *unstructured.Unstructured, value string, fields ...string) error {
	return unstructured.SetNestedField(u.Object, value, fields...)
}

// toYAML prints u as YAML for a commit.
func toYAML(t testing.TB, u *unstructured.Unstructured) string {
	t.Helper()
	data, err := yaml.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// formatDurations prints durations rounded to milliseconds.
func formatDurations(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Round(time.Millisecond).String()
	}
	return strings.Join(parts, ", ")
}
