package ui

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"

	"gotk.dev/cli/internal/install"
)

// installUIIdentity creates the install's ServiceAccount and roles of the
// UI in ns (cluster-scoped names suffixed by ns, so tests do not share
// them) and returns a config with that ServiceAccount's token.
func installUIIdentity(t *testing.T, ns string, trusted []string) *rest.Config {
	t.Helper()
	ctx := context.Background()
	o := install.DefaultOptions()
	o.Components, o.UITrustedProxies = []string{"source-controller", install.UI}, trusted
	objs, err := install.Objects(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range objs {
		if !strings.HasPrefix(obj.GetName(), "gotk-ui") || !slices.Contains([]string{"ServiceAccount", "ClusterRole",
			"ClusterRoleBinding", "Role", "RoleBinding"}, obj.GetKind()) {
			continue
		}
		if obj.GetNamespace() != "" {
			obj.SetNamespace(ns)
		} else {
			obj.SetName(obj.GetName() + "-" + ns)
		}
		if strings.HasPrefix(obj.GetKind(), "Cluster") && strings.HasSuffix(obj.GetKind(), "Binding") {
			_ = unstructured.SetNestedField(obj.Object, obj.GetName(), "roleRef", "name")
		}
		if subjects, ok, _ := unstructured.NestedSlice(obj.Object, "subjects"); ok {
			for _, s := range subjects {
				s.(map[string]any)["namespace"] = ns
			}
			_ = unstructured.SetNestedSlice(obj.Object, subjects, "subjects")
		}
		obj.SetResourceVersion("")
		if err := env.Client.Create(ctx, obj); err != nil {
			t.Fatalf("creating %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), obj) })
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gotk-ui"}}
	tr := &authenticationv1.TokenRequest{}
	if err := env.Client.SubResource("token").Create(ctx, sa, tr); err != nil {
		t.Fatalf("a token for the UI's ServiceAccount: %v", err)
	}
	cfg := rest.AnonymousClientConfig(env.Config)
	cfg.BearerToken = tr.Status.Token
	return cfg
}

// TestInstalledUIIdentity: with only the roles `gotk install
// --components-extra ui` grants, the UI reads every namespace read-only,
// impersonates a proxy's user when installed with a trusted proxy, and
// may use the service proxy of source-controller and of nothing else.
func TestInstalledUIIdentity(t *testing.T) {
	ns, mine, other := env.NewNamespace(t), env.NewNamespace(t), env.NewNamespace(t)
	kustomization(t, mine, "visible", metav1.ConditionTrue, "applied")
	kustomization(t, other, "elsewhere", metav1.ConditionTrue, "applied")
	cfg := installUIIdentity(t, ns, []string{"127.0.0.0/8"})

	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for svc, want := range map[string]bool{"source-controller:80": true, "source-controller:http": true, "notification-controller:80": false, "kubernetes:443": false} {
		u := fmt.Sprintf("%s/api/v1/namespaces/%s/services/%s/proxy/gitrepository/x.tar.gz", cfg.Host, ns, svc)
		resp, err := hc.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		// Allowed: the API server looks for the (absent) Service; refused: 403.
		if allowed := resp.StatusCode != http.StatusForbidden; allowed != want {
			t.Errorf("services/%s/proxy as the UI = %d, allowed %t, want %t", svc, resp.StatusCode, allowed, want)
		}
	}

	o := Options{Config: cfg, SystemNamespace: ns}
	readOnly := o
	readOnly.Auth = AuthReadOnly
	base := serveWith(t, readOnly)
	body := as{}.eventually(t, base+"/kinds/kustomization", "elsewhere")
	if !strings.Contains(body, "visible") {
		t.Fatal("read-only as the UI's ServiceAccount misses a namespace")
	}

	team := "team-" + mine
	grant(t, mine, rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: team}, "get", "list", "watch")
	o.Auth, o.TrustedProxies = AuthProxyHeaders, []*net.IPNet{cidr(t, "127.0.0.0/8"), cidr(t, "::1/128")}
	base = serveWith(t, o)
	body = as{headerUser: "carol", headerGroups: team}.eventually(t, base+"/kinds/kustomization", "visible")
	if strings.Contains(body, "elsewhere") {
		t.Fatal("impersonating through the installed role, the user sees another namespace")
	}
}
