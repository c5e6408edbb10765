package leaks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/pkg/testenv"
)

// allKinds are every kind the controllers reconcile or read.
var allKinds = []schema.GroupVersionKind{
	{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "GitRepository"},
	{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "HelmRepository"},
	{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "HelmChart"},
	{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "OCIRepository"},
	{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "Bucket"},
	{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Kind: "Kustomization"},
	{Group: "helm.toolkit.fluxcd.io", Version: "v2", Kind: "HelmRelease"},
	{Group: "image.toolkit.fluxcd.io", Version: "v1", Kind: "ImageRepository"},
	{Group: "image.toolkit.fluxcd.io", Version: "v1", Kind: "ImagePolicy"},
	{Group: "image.toolkit.fluxcd.io", Version: "v1", Kind: "ImageUpdateAutomation"},
	{Group: "notification.toolkit.fluxcd.io", Version: "v1", Kind: "Receiver"},
	{Group: "notification.toolkit.fluxcd.io", Version: "v1beta3", Kind: "Provider"},
	{Group: "notification.toolkit.fluxcd.io", Version: "v1beta3", Kind: "Alert"},
}

// TestSecretsNeverLeak gives the controllers every kind of credential on
// paths that succeed and paths that fail, then greps their debug logs,
// the Kubernetes Events, the notifications sent and every object's
// status for each credential.
func TestSecretsNeverLeak(t *testing.T) {
	ctx := context.Background()
	s := setUp(ctx, t)

	// Every object reaches its expected state: Ready, or failing with a
	// reason (the failure path ran, its messages were written).
	testenv.Eventually(t, 2*time.Minute, "every object settled", func() error {
		var pending []string
		for ref, ready := range s.expect {
			if err := settled(ctx, ref, ready); err != nil {
				pending = append(pending, err.Error())
			}
		}
		if len(pending) > 0 {
			return fmt.Errorf("%d pending:\n%s", len(pending), strings.Join(pending, "\n"))
		}
		return nil
	})
	s.callReceivers(ctx, t)
	// Notifications went out through the Slack and generic Providers.
	testenv.Eventually(t, time.Minute, "notifications sent", func() error {
		var slack, generic int
		for _, r := range s.sink.Requests() {
			switch {
			case strings.Contains(r.Path, slackHook):
				slack++
			case strings.HasPrefix(r.Path, "/generic"):
				generic++
			}
		}
		if slack == 0 || generic == 0 {
			return fmt.Errorf("slack %d, generic %d requests", slack, generic)
		}
		return nil
	})

	texts := map[string]string{}
	logs, err := filepath.Glob(filepath.Join(stateDir, "logs", "*.log"))
	if err != nil || len(logs) != len(testenv.ControllerNames) {
		t.Fatalf("controller logs: %v %v", logs, err)
	}
	for _, l := range logs {
		data, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		texts["log "+filepath.Base(l)] = string(data)
	}
	var events corev1.EventList
	if err := env.Client.List(ctx, &events); err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		texts["event "+e.InvolvedObject.Kind+"/"+e.InvolvedObject.Name+" "+e.Reason] += e.Message + "\n"
	}
	for _, r := range s.sink.Requests() {
		texts["notification body"] += string(r.Body) + "\n"
	}
	for _, gvk := range allKinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := env.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		for _, o := range list.Items {
			status, _ := json.Marshal(o.Object["status"])
			if ready, ok := s.expect[gvk.Kind+"/"+o.GetName()]; ok && !ready {
				t.Logf("%s/%s failing: %s", gvk.Kind, o.GetName(), readyMessage(&o))
			}
			texts["status "+gvk.Kind+"/"+o.GetName()] = string(status)
		}
	}
	t.Logf("grepped %d texts (%d events, %d notifications) for %d credential strings", len(texts), len(events.Items), len(s.sink.Requests()), len(s.canaries))

	for where, text := range texts {
		for _, c := range s.canaries {
			if i := strings.Index(text, c); i >= 0 {
				t.Errorf("%s holds a credential: …%s…", where, excerpt(text, i, len(c)))
			}
		}
	}
}

// readyMessage is the Ready condition's reason and message.
func readyMessage(u *unstructured.Unstructured) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, _ := c.(map[string]any); m["type"] == "Ready" {
			return fmt.Sprintf("%v: %v", m["reason"], m["message"])
		}
	}
	return ""
}

// excerpt is the text around a hit, for the failure message.
func excerpt(text string, i, n int) string {
	from, to := max(0, i-200), min(len(text), i+n+80)
	return text[from:to]
}

// settled reports why the object "Kind/name" is not yet in the wanted
// state: Ready=True at its generation, or Ready=False for a reason
// other than progress.
func settled(ctx context.Context, ref string, ready bool) error {
	kind, name, _ := strings.Cut(ref, "/")
	var gvk schema.GroupVersionKind
	for _, k := range allKinds {
		if k.Kind == kind {
			gvk = k
		}
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, u); err != nil {
		return err
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] != "Ready" {
			continue
		}
		status, reason := m["status"], fmt.Sprint(m["reason"])
		if ready && status == "True" {
			return nil
		}
		if !ready && status == "False" && reason != "Progressing" && reason != "ProgressingWithRetry" && reason != "DependencyNotReady" {
			return nil
		}
		return fmt.Errorf("%s: Ready %v %s: %v", ref, status, reason, m["message"])
	}
	return fmt.Errorf("%s: no Ready condition", ref)
}

// callReceivers posts to both Receivers: the generic one accepts, the
// GitHub one refuses a payload signed with another key.
func (s *scenario) callReceivers(ctx context.Context, t *testing.T) {
	for _, c := range []struct {
		name, sigKey string
		want         int
	}{{"rcv-generic", "", http.StatusOK}, {"rcv-github", "leak-canary-wrong-hmac", http.StatusUnauthorized}} {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(allKinds[10])
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: c.name}, u); err != nil {
			t.Fatal(err)
		}
		path, _, _ := unstructured.NestedString(u.Object, "status", "webhookPath")
		body := []byte(`{"ref":"refs/heads/main"}`)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d%s", ctls.ReceiverPort, path), bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if c.sigKey != "" {
			mac := hmac.New(sha256.New, []byte(c.sigKey))
			mac.Write(body)
			req.Header.Set("X-GitHub-Event", "push")
			req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("Receiver %s answered %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
}
