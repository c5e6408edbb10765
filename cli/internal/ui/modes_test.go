package ui

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/testenv"
)

// serveMode starts a UI in an in-cluster mode (no login) as the test's
// admin identity and returns its URL.
func serveMode(t *testing.T, o Options) string {
	t.Helper()
	o.Config = env.Config
	return serveWith(t, o)
}

// serveWith starts a UI with o and returns its URL.
func serveWith(t *testing.T, o Options) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	o.Heartbeat, o.Batch = 200*time.Millisecond, 20*time.Millisecond
	s, err := New(ctx, o)
	if err != nil {
		t.Fatalf("starting the UI: %v", err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return hs.URL
}

// as is a request through a proxy: the headers it sets.
type as map[string]string

func (h as) do(t *testing.T, method, u string, form url.Values) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// eventually polls a page until it answers 200 with want in it.
func (h as) eventually(t *testing.T, u, want string) string {
	t.Helper()
	var body string
	testenv.Eventually(t, 30*time.Second, u+" shows "+want, func() error {
		var code int
		code, body = h.do(t, http.MethodGet, u, nil)
		if code != http.StatusOK || !strings.Contains(body, want) {
			return &pageError{code, body}
		}
		return nil
	})
	return body
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// grant binds a Role in ns with verbs on the Flux kinds and events to subject.
func grant(t *testing.T, ns string, subject rbacv1.Subject, verbs ...string) {
	t.Helper()
	ctx := context.Background()
	name := "ui-" + strings.ToLower(subject.Name)
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"source.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io", "helm.toolkit.fluxcd.io"},
				Resources: []string{"*"}, Verbs: verbs},
			{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"get", "list", "watch", "create"}},
		}}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}, Subjects: []rbacv1.Subject{subject}}
	for _, o := range []client.Object{role, binding} {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
}

func cidr(t *testing.T, s string) *net.IPNet {
	t.Helper()
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestProxyHeaders: behind a trusted proxy the UI impersonates the user
// and groups it names: a group limited to one namespace sees only it and
// acts there; a CSRF token is the user's own; headers from anywhere else
// are refused.
func TestProxyHeaders(t *testing.T) {
	mine, other := env.NewNamespace(t), env.NewNamespace(t)
	kustomization(t, mine, "visible", metav1.ConditionTrue, "applied")
	kustomization(t, other, "hidden", metav1.ConditionTrue, "applied")
	team := "team-" + mine
	grant(t, mine, rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: team}, "get", "list", "watch", "patch")
	base := serveMode(t, Options{Auth: AuthProxyHeaders, TrustedProxies: []*net.IPNet{cidr(t, "127.0.0.0/8"), cidr(t, "::1/128")}})
	alice := as{headerUser: "alice", headerEmail: "alice@example.com", headerGroups: "staff, " + team}

	body := alice.eventually(t, base+"/kinds/kustomization", "visible")
	if strings.Contains(body, "/"+other+"/") {
		t.Fatalf("the list shows a namespace the user may not read:\n%s", body)
	}
	if code, _ := alice.do(t, http.MethodGet, base+"/objects/kustomization/"+other+"/hidden", nil); code != http.StatusNotFound {
		t.Fatalf("object page in another namespace = %d, want 404", code)
	}
	page := base + "/objects/kustomization/" + mine + "/visible"
	body = alice.eventually(t, page, `id="act-suspend"`)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", body)
	}
	// Another user's CSRF token is worthless; so is a POST in a namespace the user may not patch.
	bob := as{headerUser: "bob", "Origin": base}
	if code, body := bob.do(t, http.MethodPost, page+"/suspend", url.Values{"csrf": {m[1]}}); code != http.StatusForbidden {
		t.Fatalf("POST with alice's CSRF token as bob = %d %s, want 403", code, body)
	}
	alice["Origin"] = base
	if code, body := alice.do(t, http.MethodPost, base+"/objects/kustomization/"+other+"/hidden/suspend", url.Values{"csrf": {m[1]}}); code != http.StatusForbidden {
		t.Fatalf("POST in another namespace = %d %s, want 403", code, body)
	}
	if code, body := alice.do(t, http.MethodPost, page+"/suspend", url.Values{"csrf": {m[1]}}); code != http.StatusOK {
		t.Fatalf("suspend as alice = %d %s", code, body)
	}
	ks := &kustomizev1.Kustomization{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: mine, Name: "visible"}, ks); err != nil || !ks.Spec.Suspend {
		t.Fatalf("suspend as alice did not suspend (err %v)", err)
	}
	alice.eventually(t, page, "suspended by alice")

	if code, _ := (as{headerGroups: team}).do(t, http.MethodGet, base+"/", nil); code != http.StatusUnauthorized {
		t.Fatalf("a request naming no user = %d, want 401", code)
	}
	for _, h := range []as{{headerUser: "system:admin"}, {headerUser: "mallory", headerGroups: team + ",system:masters"}} {
		if code, _ := h.do(t, http.MethodGet, base+"/", nil); code != http.StatusForbidden {
			t.Fatalf("a trusted request naming a system: identity %v = %d, want 403", h, code)
		}
	}

	// Only the trusted source may send the headers: here a network the
	// test is not in, or the shared secret.
	const secret = "a-shared-secret-of-some-length"
	guarded := serveMode(t, Options{Auth: AuthProxyHeaders, TrustedProxies: []*net.IPNet{cidr(t, "192.0.2.0/24")}, ProxySecret: secret})
	forged := as{headerUser: "system:admin", headerGroups: "system:masters"}
	for name, h := range map[string]as{"no secret": forged, "wrong secret": {headerUser: "alice", HeaderProxySecret: "guess"}} {
		if code, body := h.do(t, http.MethodGet, guarded+"/kinds/kustomization", nil); code != http.StatusForbidden {
			t.Fatalf("%s: headers from an untrusted source = %d %s, want 403", name, code, body)
		}
	}
	alice[HeaderProxySecret] = secret
	if body := alice.eventually(t, guarded+"/kinds/kustomization", "visible"); strings.Contains(body, "/"+other+"/") {
		t.Fatal("through the secret, the user sees another namespace")
	}
}

// TestReadOnly: as its own identity the UI shows no action and refuses
// every POST, even one with the page's CSRF token.
func TestReadOnly(t *testing.T) {
	ns := env.NewNamespace(t)
	kustomization(t, ns, "app", metav1.ConditionTrue, "applied")
	base := serveMode(t, Options{Auth: AuthReadOnly})
	anyone := as{"Origin": base}
	page := base + "/objects/kustomization/" + ns + "/app"
	body := anyone.eventually(t, page, "applied")
	if strings.Contains(body, "act-") {
		t.Fatalf("a read-only UI shows action buttons:\n%s", body)
	}
	for _, act := range []string{"suspend", "reconcile"} {
		if code, body := anyone.do(t, http.MethodPost, page+"/"+act, url.Values{"csrf": {"x"}}); code != http.StatusForbidden {
			t.Fatalf("POST %s = %d %s, want 403", act, code, body)
		}
	}
	if code, _ := anyone.do(t, http.MethodGet, base+"/login?token=x", nil); code != http.StatusNotFound {
		t.Fatalf("login in read-only mode = %d, want 404", code)
	}
	ks := &kustomizev1.Kustomization{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "app"}, ks); err != nil || ks.Spec.Suspend {
		t.Fatalf("a read-only UI changed the object (suspend=%t, err %v)", ks.Spec.Suspend, err)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Auth: AuthProxyHeaders}, "needs a trusted source"},
		{Options{Auth: "oidc"}, `--auth "oidc"`},
	} {
		if err := tc.o.validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("validate(%+v) = %v, want %q", tc.o, err, tc.want)
		}
	}
	for _, o := range []Options{{}, {Auth: AuthReadOnly}, {Auth: AuthProxyHeaders, ProxySecret: "s"}} {
		if err := o.validate(); err != nil {
			t.Errorf("validate(%+v) = %v", o, err)
		}
	}
}

// TestSessionSecretSurvivesRestart: with the same session file a new UI
// accepts the old URL's token.
func TestSessionSecretSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ui", "session")
	first, err := LoadSessionSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadSessionSecret(path)
	if err != nil || string(again) != string(first) {
		t.Fatalf("second load = %x, %v; want the first secret", again, err)
	}
	var logins []string
	for range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		s, err := New(ctx, Options{Config: env.Config, SessionSecret: again})
		if err != nil {
			t.Fatal(err)
		}
		logins = append(logins, s.LoginPath())
		cancel()
	}
	if logins[0] != logins[1] {
		t.Fatalf("login paths differ across restarts: %q, %q", logins[0], logins[1])
	}
}
