package controller

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"

	"gotk.dev/kustomize-controller/internal/apply"
)

// TestCustomApplyStageKinds: an impersonated account that holds the
// rights of a Role, but not "bind", may only create the RoleBinding once
// the Role exists. In one stage the RoleBinding's dry-run fails and
// nothing is applied; with Role in --custom-apply-stage-kinds the Role is
// applied and ready first and the apply succeeds.
func TestCustomApplyStageKinds(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	rw := []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	crole := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "ns-reader-" + ns},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get"}}}}
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "ns-reader-" + ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: crole.Name},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: "deployer"}}}
	for _, o := range []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deployer"}},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deployer"}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: rw},
			{APIGroups: []string{rbacv1.GroupName}, Resources: []string{"roles", "rolebindings"}, Verbs: rw},
		}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deployer"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "deployer"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: "deployer"}}},
		crole, crb,
	} {
		g.Expect(env.Client.Create(ctx, o)).To(Succeed())
	}
	t.Cleanup(func() {
		_ = env.Client.Delete(ctx, crb)
		_ = env.Client.Delete(ctx, crole)
	})
	newGitRepository(t, ns, "repo", publish(t, map[string]string{
		"role.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: app-reader\n  namespace: " + ns +
			"\nrules:\n- apiGroups: ['']\n  resources: [configmaps]\n  verbs: [get]\n",
		"binding.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: app-reader\n  namespace: " + ns +
			"\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: app-reader}\nsubjects:\n- {kind: ServiceAccount, name: reader, namespace: " + ns + "}\n",
	}))
	obj := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "rbac"},
		Spec: kustomizev1.KustomizationSpec{ServiceAccountName: "deployer",
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "repo"}}}
	roleGVK := schema.GroupVersionKind{Group: rbacv1.GroupName, Version: "v1", Kind: "Role"}
	applyWith := func(kinds []apply.StageKind) error {
		r := newReconciler(env.Client, env.Client, nil)
		r.Config = env.Config
		r.CustomStageKinds = kinds
		rn := &kustomizationRun{r: r}
		g.Expect(rn.source(ctx, obj)).To(Succeed())
		g.Expect(rn.build(ctx, obj)).To(Succeed())
		return rn.apply(ctx, obj)
	}

	// Polled: the API server's authorizer sees the deployer's new RBAC a
	// moment after it was created.
	g.Eventually(func() string {
		err := applyWith(nil)
		if err == nil {
			return ""
		}
		return err.Error()
	}, 10*time.Second, 200*time.Millisecond).Should(ContainSubstring("RoleBinding/" + ns + "/app-reader dry-run failed"))
	g.Expect(exists(roleGVK, ns, "app-reader")).To(BeFalse())

	kinds, err := apply.ParseStageKinds("Role")
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func() error { return applyWith(kinds) }, 10*time.Second, 200*time.Millisecond).Should(Succeed())
	g.Expect(exists(roleGVK, ns, "app-reader")).To(BeTrue())
	g.Expect(exists(schema.GroupVersionKind{Group: rbacv1.GroupName, Version: "v1", Kind: "RoleBinding"}, ns, "app-reader")).To(BeTrue())
}
