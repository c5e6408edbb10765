package ui

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

func TestStatusMessageIsEscaped(t *testing.T) {
	ns := env.NewNamespace(t)
	kustomization(t, ns, "xss", metav1.ConditionFalse, `build failed: <script>alert("x")</script>`)
	b := open(t, env.Config, "")
	page := "/objects/kustomization/" + ns + "/xss"
	body := b.eventually(t, page, "build failed")
	if strings.Contains(body, `<script>alert`) {
		t.Fatalf("the status message was rendered as markup:\n%s", body)
	}
	if !strings.Contains(body, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`) {
		t.Fatalf("the escaped message is missing:\n%s", body)
	}
	for p, want := range map[string]string{"/": `href="/kinds/kustomization?status=Failed">`, "/kinds/kustomization?namespace=" + ns: "xss"} {
		if body := b.eventually(t, p, want); strings.Contains(body, "<script>alert") {
			t.Fatalf("%s renders the message as markup", p)
		}
	}
	resp, err := b.c.Get(b.http.URL + page)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("Content-Security-Policy = %q", csp)
	}
}

func TestSessionAndCSRF(t *testing.T) {
	ns := env.NewNamespace(t)
	kustomization(t, ns, "app", metav1.ConditionTrue, "applied")
	b := open(t, env.Config, "")
	action := "/objects/kustomization/" + ns + "/app/suspend"
	origin := b.http.URL
	for _, tc := range []struct {
		name   string
		form   url.Values
		origin string
		want   int
	}{
		{"no CSRF token", url.Values{}, origin, http.StatusForbidden},
		{"wrong CSRF token", url.Values{"csrf": {"forged"}}, origin, http.StatusForbidden},
		{"other origin", url.Values{"csrf": {b.srv.csrf}}, "http://evil.example", http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := b.post(t, action, tc.form, tc.origin); code != tc.want {
				t.Fatalf("POST = %d %s, want %d", code, body, tc.want)
			}
		})
	}
	// Without the cookie nothing is served.
	resp, err := http.Get(b.http.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET / without a session = %d, want 401", resp.StatusCode)
	}
	if code, _ := b.get(t, "/login?token=wrong"); code != http.StatusUnauthorized {
		t.Fatalf("login with a wrong token = %d, want 401", code)
	}
	ks := &kustomizev1.Kustomization{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "app"}, ks); err != nil {
		t.Fatal(err)
	}
	if ks.Spec.Suspend {
		t.Fatal("a refused POST suspended the Kustomization")
	}
}

func TestActionsDoWhatTheCLIDoes(t *testing.T) {
	ns := env.NewNamespace(t)
	kustomization(t, ns, "app", metav1.ConditionTrue, "applied")
	b := open(t, env.Config, "")
	page := "/objects/kustomization/" + ns + "/app"
	body := b.eventually(t, page, `id="act-reconcile"`)
	if !strings.Contains(body, "gotk -n "+ns+" reconcile kustomization app") {
		t.Fatalf("the page does not show the CLI command:\n%s", body)
	}
	form := url.Values{"csrf": {b.srv.csrf}}
	get := func() *kustomizev1.Kustomization {
		ks := &kustomizev1.Kustomization{}
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "app"}, ks); err != nil {
			t.Fatal(err)
		}
		return ks
	}
	if code, body := b.post(t, page+"/reconcile", form, b.http.URL); code != http.StatusOK || !strings.Contains(body, "reconcile requested") {
		t.Fatalf("reconcile: %d %s", code, body)
	}
	if get().Annotations[meta.ReconcileRequestAnnotation] == "" {
		t.Fatal("reconcile did not set the requestedAt annotation")
	}
	if code, body := b.post(t, page+"/suspend", form, b.http.URL); code != http.StatusOK {
		t.Fatalf("suspend: %d %s", code, body)
	}
	if !get().Spec.Suspend {
		t.Fatal("suspend did not set spec.suspend")
	}
	b.eventually(t, page, `id="act-resume"`)
	if code, _ := b.post(t, page+"/reconcile", form, b.http.URL); code != http.StatusConflict {
		t.Fatalf("reconcile of a suspended object = %d, want 409", code)
	}
	before := get().Annotations[meta.ReconcileRequestAnnotation]
	if code, body := b.post(t, page+"/resume", form, b.http.URL); code != http.StatusOK {
		t.Fatalf("resume: %d %s", code, body)
	}
	if ks := get(); ks.Spec.Suspend || ks.Annotations[meta.ReconcileRequestAnnotation] == before {
		t.Fatalf("resume: suspend=%t, requestedAt %q (before %q)", ks.Spec.Suspend, ks.Annotations[meta.ReconcileRequestAnnotation], before)
	}
	// Each action is an event naming the user, shown on the page.
	body = b.eventually(t, page, "resumed by ")
	for _, want := range []string{"ReconcileRequested", "reconcile requested by ", "Suspended", "suspended by "} {
		if !strings.Contains(body, want) {
			t.Fatalf("the page lacks the event %q", want)
		}
	}
}

// TestNamespaceLimitedUser: a user with a Role in one namespace sees only
// it, gets no action buttons without patch, and a forged POST is refused.
func TestNamespaceLimitedUser(t *testing.T) {
	ctx := context.Background()
	mine, other := env.NewNamespace(t), env.NewNamespace(t)
	kustomization(t, mine, "visible", metav1.ConditionTrue, "applied")
	kustomization(t, other, "hidden", metav1.ConditionTrue, "applied")
	user := "viewer-" + mine
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: mine, Name: "flux-view"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"source.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io", "helm.toolkit.fluxcd.io"},
				Resources: []string{"*"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"get", "list", "watch"}},
		}}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: mine, Name: "flux-view"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}}
	for _, o := range []client.Object{role, binding} {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	b := open(t, cfg, mine)

	body := b.eventually(t, "/kinds/kustomization", "visible")
	if strings.Contains(body, "/"+other+"/") {
		t.Fatalf("the list shows another namespace:\n%s", body)
	}
	if strings.Contains(body, "/kinds/imagepolicy") {
		t.Fatal("the menu offers a kind the user may not list")
	}
	if code, _ := b.get(t, "/kinds/kustomization?namespace="+other); code != http.StatusOK {
		t.Fatalf("filtering on another namespace = %d", code)
	} else if _, body := b.get(t, "/kinds/kustomization?namespace="+other); strings.Contains(body, "/"+other+"/") {
		t.Fatal("filtering on another namespace shows its objects")
	}
	if code, _ := b.get(t, "/objects/kustomization/"+other+"/hidden"); code != http.StatusNotFound {
		t.Fatalf("object page in another namespace = %d, want 404", code)
	}
	page := "/objects/kustomization/" + mine + "/visible"
	body = b.eventually(t, page, "applied")
	if strings.Contains(body, "act-") {
		t.Fatalf("action buttons shown to a user who may not patch:\n%s", body)
	}
	form := url.Values{"csrf": {b.srv.csrf}}
	for _, p := range []string{page + "/suspend", "/objects/kustomization/" + other + "/hidden/reconcile"} {
		if code, body := b.post(t, p, form, b.http.URL); code != http.StatusForbidden {
			t.Fatalf("forged POST %s = %d %s, want 403", p, code, body)
		}
	}
}

// TestLiveStream: a status change reaches an open event stream.
func TestLiveStream(t *testing.T) {
	ns := env.NewNamespace(t)
	ks := kustomization(t, ns, "app", metav1.ConditionTrue, "applied")
	b := open(t, env.Config, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.http.URL+fmt.Sprintf("/live?since=%d", b.srv.live.current()), nil)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q", ct)
	}
	lines := bufio.NewScanner(resp.Body)
	wait := func(prefix string) time.Duration {
		start := time.Now()
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), prefix) {
				return time.Since(start)
			}
		}
		t.Fatalf("the stream ended before %q: %v", prefix, lines.Err())
		return 0
	}
	wait(": heartbeat")
	start := time.Now()
	setReady(t, ks, metav1.ConditionFalse, "health check failed")
	wait("event: change")
	t.Logf("status change → event: %s", time.Since(start))
	if body := b.eventually(t, "/objects/kustomization/"+ns+"/app", "health check failed"); !strings.Contains(body, "Failed") {
		t.Fatal("the page does not show the new status")
	}

	// A reconnecting stream that missed batches is told at once.
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, b.http.URL+"/live", nil)
	req.Header.Set("Last-Event-ID", "0")
	resumed, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Body.Close()
	lines = bufio.NewScanner(resumed.Body)
	for lines.Scan() && lines.Text() != "event: change" {
		if strings.HasPrefix(lines.Text(), ":") {
			t.Fatalf("a heartbeat came before the missed change")
		}
	}
	if lines.Text() != "event: change" {
		t.Fatalf("the resumed stream ended without the missed change: %v", lines.Err())
	}
}
