package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
)

// TestKustomizationSourceRefKind: a GitRepository, an OCIRepository and a
// Bucket share one name, each publishing a different ConfigMap;
// spec.sourceRef.kind alone picks the source whose artifact is applied.
func TestKustomizationSourceRefKind(t *testing.T) {
	ns := env.NewNamespace(t)
	newGitRepository(t, ns, "app", publish(t, map[string]string{"cm.yaml": configMap(ns, "from-git", "")}))
	oci := &sourcev1.OCIRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: sourcev1.OCIRepositorySpec{URL: "oci://example.com/org/app", Interval: metav1.Duration{Duration: time.Hour}}}
	bucket := &sourcev1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: sourcev1.BucketSpec{BucketName: "app", Endpoint: "example.com", Interval: metav1.Duration{Duration: time.Hour}}}
	for obj, name := range map[client.Object]string{oci: "from-oci", bucket: "from-bucket"} {
		NewWithT(t).Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
		setSourceArtifact(t, obj, publish(t, map[string]string{"cm.yaml": configMap(ns, name, "")}))
	}
	cases := []struct{ kind, applied string }{
		{sourcev1.GitRepositoryKind, "from-git"},
		{sourcev1.OCIRepositoryKind, "from-oci"},
		{sourcev1.BucketKind, "from-bucket"},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			ks := newKustomization(t, ns, "ks-"+tc.applied, "app", func(ks *kustomizev1.Kustomization) {
				ks.Spec.SourceRef.Kind = tc.kind
				ks.Spec.Prune = false
			})
			waitReady(t, ks, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)
			g := NewWithT(t)
			g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: tc.applied}, &corev1.ConfigMap{})).To(Succeed())
		})
	}
	// Each Kustomization applied only its own source's ConfigMap.
	list := &corev1.ConfigMapList{}
	NewWithT(t).Expect(env.Client.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
	var names []string
	for _, cm := range list.Items {
		if cm.Name != "kube-root-ca.crt" {
			names = append(names, cm.Name)
		}
	}
	NewWithT(t).Expect(names).To(ConsistOf("from-git", "from-oci", "from-bucket"))
}

// setSourceArtifact publishes art on an OCIRepository's or Bucket's
// status, as source-controller would.
func setSourceArtifact(t testing.TB, obj client.Object, art *meta.Artifact) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		switch o := obj.(type) {
		case *sourcev1.OCIRepository:
			o.Status.Artifact = art
			conditions.MarkTrue(o, meta.ReadyCondition, meta.SucceededReason, "stored artifact")
		case *sourcev1.Bucket:
			o.Status.Artifact = art
			conditions.MarkTrue(o, meta.ReadyCondition, meta.SucceededReason, "stored artifact")
		}
		return env.Client.Status().Update(context.Background(), obj)
	}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
}

// TestKustomizationServiceAccountName: with spec.serviceAccountName the
// apply impersonates that account: one no role binds is refused by the
// API server's RBAC, and once a Role lets it manage ConfigMaps the same
// Kustomization applies.
func TestKustomizationServiceAccountName(t *testing.T) {
	ns := env.NewNamespace(t)
	ctx := context.Background()
	g := NewWithT(t)
	newGitRepository(t, ns, "app", publish(t, map[string]string{"cm.yaml": configMap(ns, "as-sa", "")}))
	g.Expect(env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deployer"}})).To(Succeed())
	ks := newKustomization(t, ns, "impersonating", "app", func(ks *kustomizev1.Kustomization) {
		ks.Spec.ServiceAccountName = "deployer"
	})
	g.Eventually(func(g Gomega) {
		cur := &kustomizev1.Kustomization{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ks), cur)).To(Succeed())
		g.Expect(conditions.IsFalse(cur, meta.ReadyCondition)).To(BeTrue())
		g.Expect(conditions.GetMessage(cur, meta.ReadyCondition)).To(ContainSubstring("system:serviceaccount:" + ns + ":deployer"))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "as-sa"}, &corev1.ConfigMap{})).NotTo(Succeed())

	grantConfigMaps(t, ns, "deployer")
	requestReconcile(t, ks)
	waitReady(t, ks, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "as-sa"}, &corev1.ConfigMap{})).To(Succeed())
}

// grantConfigMaps lets the service account ns/sa manage ConfigMaps in ns
// and read namespaces (removed when the test ends).
func grantConfigMaps(t *testing.T, ns, sa string) {
	t.Helper()
	ctx := context.Background()
	rw := []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: sa}}
	crole := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "ns-reader-" + ns},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get"}}}}
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "ns-reader-" + ns},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: crole.Name}, Subjects: subject}
	for _, o := range []client.Object{
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sa}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: rw}}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sa},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: sa}, Subjects: subject},
		crole, crb,
	} {
		NewWithT(t).Expect(env.Client.Create(ctx, o)).To(Succeed())
	}
	t.Cleanup(func() {
		_ = env.Client.Delete(ctx, crb)
		_ = env.Client.Delete(ctx, crole)
	})
}
