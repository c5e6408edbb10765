package ui

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/testenv"
)

var env *testenv.Environment

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// browser is a UI server under test and an HTTP client with its session.
type browser struct {
	srv  *Server
	http *httptest.Server
	c    *http.Client
}

// open starts a UI with cfg's identity and logs in through the token URL.
func open(t testing.TB, cfg *rest.Config, namespace string) *browser {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s, err := New(ctx, Options{Config: cfg, Namespace: namespace, Heartbeat: 200 * time.Millisecond, Batch: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("starting the UI: %v", err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	jar, _ := cookiejar.New(nil)
	b := &browser{srv: s, http: hs, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	if code, body := b.get(t, s.LoginPath()); code != http.StatusOK {
		t.Fatalf("login: %d %s", code, body)
	}
	return b
}

func (b *browser) get(t testing.TB, path string) (int, string) {
	t.Helper()
	resp, err := b.c.Get(b.http.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (b *browser) post(t testing.TB, path string, form url.Values, origin string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.http.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// kustomization creates a Kustomization whose Ready condition says msg.
func kustomization(t *testing.T, ns, name string, ready metav1.ConditionStatus, msg string) *kustomizev1.Kustomization {
	t.Helper()
	ctx := context.Background()
	ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: kustomizev1.KustomizationSpec{Interval: metav1.Duration{Duration: time.Hour}, Path: "./",
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "repo"}}}
	if err := env.Client.Create(ctx, ks); err != nil {
		t.Fatalf("creating %s: %v", name, err)
	}
	setReady(t, ks, ready, msg)
	return ks
}

func setReady(t *testing.T, ks *kustomizev1.Kustomization, ready metav1.ConditionStatus, msg string) {
	t.Helper()
	reason := meta.SucceededReason
	if ready != metav1.ConditionTrue {
		reason = meta.ReconciliationFailedReason
	}
	apimeta.SetStatusCondition(&ks.Status.Conditions, metav1.Condition{Type: meta.ReadyCondition,
		Status: ready, Reason: reason, Message: msg, ObservedGeneration: ks.Generation})
	if err := env.Client.Status().Update(context.Background(), ks); err != nil {
		t.Fatalf("status of %s: %v", ks.Name, err)
	}
}

// eventually polls a page until it contains want.
func (b *browser) eventually(t testing.TB, path, want string) string {
	t.Helper()
	var body string
	testenv.Eventually(t, 30*time.Second, path+" shows "+want, func() error {
		var code int
		code, body = b.get(t, path)
		if code != http.StatusOK || !strings.Contains(body, want) {
			return &pageError{code, body}
		}
		return nil
	})
	return body
}

type pageError struct {
	code int
	body string
}

func (e *pageError) Error() string {
	if len(e.body) > 400 {
		e.body = e.body[:400] + "…"
	}
	return http.StatusText(e.code) + ": " + e.body
}
