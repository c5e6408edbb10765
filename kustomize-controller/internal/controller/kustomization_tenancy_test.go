package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/acl"
	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

// TestTenancyLockdown is the multi-tenancy story of a controller run with
// --no-cross-namespace-refs and --default-service-account=tenant-sa, the
// ObjectLevelWorkloadIdentity gate off: a tenant in namespace A is refused
// every reference into namespace B (the flag named), applies as tenant-sa
// when it names no account (forbidden outside A, allowed inside), and
// gets no ServiceAccount token minted.
func TestTenancyLockdown(t *testing.T) {
	const shard = "tenancy"
	startShard(t, shard, testControllerOptions(2), func(r *KustomizationReconciler) {
		r.Config = env.Config
		r.NoCrossNamespaceRefs = true
		r.DefaultServiceAccount = "tenant-sa"
	})
	ctx := context.Background()
	tenant, other := env.NewNamespace(t), env.NewNamespace(t)
	shardRepo := func(ns, name string, files map[string]string) {
		t.Helper()
		repo := newGitRepository(t, ns, name, publish(t, files))
		NewWithT(t).Eventually(func() error {
			cur := repo.DeepCopy()
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(repo), cur); err != nil {
				return err
			}
			labelShard(cur, shard)
			return env.Client.Update(ctx, cur)
		}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
	}
	shardRepo(other, "theirs", map[string]string{"cm.yaml": configMap(other, "stolen", "")})
	shardRepo(tenant, "mine", map[string]string{"cm.yaml": configMap(other, "outside", "")})
	shardRepo(tenant, "inside", map[string]string{"cm.yaml": configMap(tenant, "inside", "")})

	// The tenant's account may only edit its own namespace.
	g := NewWithT(t)
	g.Expect(env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: "tenant-sa"}})).To(Succeed())
	g.Expect(env.Client.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: "tenant-sa-edit"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "tenant-sa", Namespace: tenant}},
	})).To(Succeed())

	for _, tc := range []struct {
		name       string
		mutate     func(*kustomizev1.Kustomization)
		wantReason string
		wantMsg    []string
	}{
		{name: "source-in-b", mutate: func(ks *kustomizev1.Kustomization) {
			ks.Spec.SourceRef.Name, ks.Spec.SourceRef.Namespace = "theirs", other
		}, wantReason: acl.AccessDeniedReason,
			wantMsg: []string{"spec.sourceRef", "GitRepository " + other + "/theirs", "--no-cross-namespace-refs"}},
		{name: "depends-on-b", mutate: func(ks *kustomizev1.Kustomization) {
			ks.Spec.SourceRef.Name = "inside"
			ks.Spec.DependsOn = []meta.DependencyReference{{Name: "infra", Namespace: other}}
		}, wantReason: acl.AccessDeniedReason,
			wantMsg: []string{"spec.dependsOn[0]", "Kustomization " + other + "/infra", "--no-cross-namespace-refs"}},
		{name: "minted-token", mutate: func(ks *kustomizev1.Kustomization) {
			ks.Spec.SourceRef.Name = "inside"
			ks.Spec.KubeConfig = &meta.KubeConfigReference{ConfigMapRef: &meta.LocalObjectReference{Name: "remote"}}
		}, wantReason: meta.FeatureGateDisabledReason,
			wantMsg: []string{"spec.kubeConfig.configMapRef", "ObjectLevelWorkloadIdentity"}},
		{name: "kms-identity", mutate: func(ks *kustomizev1.Kustomization) {
			ks.Spec.SourceRef.Name = "inside"
			ks.Spec.Decryption = &kustomizev1.Decryption{Provider: "sops", ServiceAccountName: "kms"}
		}, wantReason: meta.FeatureGateDisabledReason,
			wantMsg: []string{"spec.decryption.serviceAccountName", "ObjectLevelWorkloadIdentity"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			ks := newKustomization(t, tenant, tc.name, "", func(ks *kustomizev1.Kustomization) {
				labelShard(ks, shard)
				tc.mutate(ks)
			})
			g.Eventually(func(g Gomega) {
				cur := &kustomizev1.Kustomization{}
				g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ks), cur)).To(Succeed())
				g.Expect(conditions.IsStalled(cur)).To(BeTrue(), "Ready: %s", conditions.GetMessage(cur, meta.ReadyCondition))
				g.Expect(conditions.GetReason(cur, meta.ReadyCondition)).To(Equal(tc.wantReason))
				for _, m := range tc.wantMsg {
					g.Expect(conditions.GetMessage(cur, meta.ReadyCondition)).To(ContainSubstring(m))
				}
			}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
		})
	}
	g.Expect(exists(configMapGVK, tenant, "stolen")).To(BeFalse())

	// No serviceAccountName: applied as tenant-sa, forbidden in B ...
	outside := newKustomization(t, tenant, "outside", "mine", func(ks *kustomizev1.Kustomization) { labelShard(ks, shard) })
	cur := waitReady(t, outside, metav1.ConditionFalse, kustomizev1.ReconciliationFailedReason, 30*time.Second)
	msg := conditions.GetMessage(cur, meta.ReadyCondition)
	g.Expect(msg).To(ContainSubstring("as service account " + tenant + "/tenant-sa"))
	g.Expect(msg).To(ContainSubstring("forbidden"))
	g.Expect(exists(configMapGVK, other, "outside")).To(BeFalse())
	// ... and allowed in A, where its RBAC is.
	inside := newKustomization(t, tenant, "inside", "inside", func(ks *kustomizev1.Kustomization) { labelShard(ks, shard) })
	waitReady(t, inside, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)
	g.Expect(exists(configMapGVK, tenant, "inside")).To(BeTrue())
}
