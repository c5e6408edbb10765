package cmd

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestCreateTenantExport compares the YAML with what Flux's
// `create tenant --export` prints for the same flags.
func TestCreateTenantExport(t *testing.T) {
	g := NewWithT(t)
	out, err := run(t, "create", "tenant", "dev-team", "--with-namespace", "apps", "--cluster-role", "flux-edit",
		"--label", "env=dev", "--export")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(Equal(`---
apiVersion: v1
kind: Namespace
metadata:
  labels:
    env: dev
    toolkit.fluxcd.io/tenant: dev-team
  name: apps
spec: {}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  labels:
    env: dev
    toolkit.fluxcd.io/tenant: dev-team
  name: dev-team
  namespace: apps
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  labels:
    env: dev
    toolkit.fluxcd.io/tenant: dev-team
  name: dev-team-reconciler
  namespace: apps
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: flux-edit
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: gotk:apps:reconciler
- kind: ServiceAccount
  name: dev-team
  namespace: apps
`))
}

// TestCreateTenantApply creates a tenant over two namespaces; a rerun with
// another cluster role replaces the RoleBindings (their roleRef is fixed).
func TestCreateTenantApply(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	a, b := "tenant-a-"+rand.String(5), "tenant-b-"+rand.String(5)
	t.Cleanup(func() {
		for _, ns := range []string{a, b} {
			_ = env.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		}
	})
	for _, role := range []string{"cluster-admin", "view"} {
		out, err := run(t, "create", "tenant", "team", "--with-namespace", a, "--with-namespace", b, "--cluster-role", role)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(ContainSubstring("✔ tenant setup completed"))
		for _, ns := range []string{a, b} {
			var n corev1.Namespace
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Name: ns}, &n)).To(Succeed())
			g.Expect(n.Labels).To(HaveKeyWithValue("toolkit.fluxcd.io/tenant", "team"))
			var sa corev1.ServiceAccount
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "team"}, &sa)).To(Succeed())
			var rb rbacv1.RoleBinding
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "team-reconciler"}, &rb)).To(Succeed())
			g.Expect(rb.RoleRef.Name).To(Equal(role))
			g.Expect(rb.Subjects).To(HaveLen(2))
		}
	}
	_, err := run(t, "create", "tenant", "team", "--export")
	g.Expect(err).To(MatchError(ContainSubstring("--with-namespace is required")))
	_, err = run(t, "create", "tenant", "bad/name/x", "--with-namespace", "x", "--export")
	g.Expect(err).To(MatchError(ContainSubstring("invalid tenant name")))
}
