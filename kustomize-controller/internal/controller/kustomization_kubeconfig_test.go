package controller

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/runtime/kubeconfig"
	"gotk.dev/pkg/testenv"
)

// execKubeconfig runs a program to get credentials: refused.
const execKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443"}
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
users:
- name: u
  user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh}}
`

// TestKubeConfigRemoteCluster: with spec.kubeConfig the objects are
// applied, corrected after drift, pruned and health-checked in a second
// control plane, never in the controller's own; the client of that
// cluster is reused while its Secret is unchanged; a missing Secret is
// waited for and an exec plugin is refused with a clear condition; a
// Kustomization whose Secret is gone is deleted without its objects.
func TestKubeConfigRemoteCluster(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	env2, err := testenv.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env2.Stop() })
	// Runs before env2 stops (cleanups are last in, first out).
	t.Cleanup(reconciler.remoteCache().Close)
	remoteKubeconfig, err := os.ReadFile(env2.Kubeconfig)
	g.Expect(err).NotTo(HaveOccurred())

	ns := env.NewNamespace(t)
	g.Expect(env2.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "remote"},
		Data: map[string][]byte{"value": remoteKubeconfig}})).To(Succeed())
	repo := newGitRepository(t, ns, "repo", publish(t, map[string]string{
		"app/a.yaml":    configMap(ns, "a", ""),
		"app/b.yaml":    configMap(ns, "b", ""),
		"tenant/c.yaml": configMap(ns, "c", ""),
		"late/d.yaml":   configMap(ns, "d", ""),
	}))
	remoteRef := &meta.KubeConfigReference{SecretRef: &meta.SecretKeyReference{Name: "remote"}}
	inRemote := func(name string) bool {
		err := env2.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &corev1.ConfigMap{})
		g.Expect(err == nil || apierrors.IsNotFound(err)).To(BeTrue(), "%v", err)
		return err == nil
	}

	// Applied and health-checked in the remote cluster only.
	app := newKustomization(t, ns, "app", "repo", func(ks *kustomizev1.Kustomization) {
		ks.Spec.Path = "app"
		ks.Spec.Wait = true
		ks.Spec.KubeConfig = remoteRef
	})
	cur := waitReady(t, app, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 60*time.Second)
	g.Expect(conditions.IsTrue(cur, kustomizev1.HealthyCondition)).To(BeTrue())
	g.Expect(inRemote("a") && inRemote("b")).To(BeTrue())
	g.Expect(exists(configMapGVK, ns, "a") || exists(configMapGVK, ns, "b")).To(BeFalse())

	// An unchanged reconcile reuses the cluster (no new client, discovery
	// or watch) and, the remote watch being synced, does nothing at all.
	builds := reconciler.remoteCache().Builds()
	g.Eventually(func() bool {
		_, ok := reconciler.unchanged(ctx, cur)
		return ok
	}, 20*time.Second, 100*time.Millisecond).Should(BeTrue())
	g.Expect(reconciler.remoteCache().Builds()).To(Equal(builds))

	// Drift in the remote cluster is undone by its watch (interval is 1h).
	var a corev1.ConfigMap
	g.Expect(env2.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "a"}, &a)).To(Succeed())
	g.Expect(env2.Client.Delete(ctx, &a)).To(Succeed())
	g.Eventually(func(g Gomega) {
		var again corev1.ConfigMap
		g.Expect(env2.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "a"}, &again)).To(Succeed())
		g.Expect(again.UID).NotTo(Equal(a.UID))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())

	// Pruned in the remote cluster.
	art := publish(t, map[string]string{"app/a.yaml": configMap(ns, "a", ""), "tenant/c.yaml": configMap(ns, "c", ""), "late/d.yaml": configMap(ns, "d", ""),
		"orphan/e.yaml": configMap(ns, "e", "")})
	setArtifact(t, repo, art)
	waitApplied(t, app, art.Revision, 60*time.Second)
	g.Expect(inRemote("a")).To(BeTrue())
	g.Expect(inRemote("b")).To(BeFalse())

	// serviceAccountName is impersonated in the remote cluster, where it has no rights.
	tenant := newKustomization(t, ns, "tenant", "repo", func(ks *kustomizev1.Kustomization) {
		ks.Spec.Path = "tenant"
		ks.Spec.KubeConfig = remoteRef
		ks.Spec.ServiceAccountName = "nobody"
	})
	cur = waitReady(t, tenant, metav1.ConditionFalse, kustomizev1.ReconciliationFailedReason, 30*time.Second)
	msg := conditions.GetMessage(cur, meta.ReadyCondition)
	g.Expect(msg).To(ContainSubstring("as service account " + ns + "/nobody in the remote cluster"))
	g.Expect(msg).To(ContainSubstring("forbidden"))

	// An exec plugin is refused: stalled, saying why and what to do.
	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "exec"},
		Data: map[string][]byte{"value": []byte(execKubeconfig)}})).To(Succeed())
	execKs := newKustomization(t, ns, "exec", "repo", func(ks *kustomizev1.Kustomization) {
		ks.Spec.Path = "late"
		ks.Spec.KubeConfig = &meta.KubeConfigReference{SecretRef: &meta.SecretKeyReference{Name: "exec"}}
	})
	cur = waitReady(t, execKs, metav1.ConditionFalse, kubeconfig.ReasonInvalid, 30*time.Second)
	g.Expect(conditions.IsStalled(cur)).To(BeTrue())
	g.Expect(conditions.GetMessage(cur, meta.ReadyCondition)).To(And(
		ContainSubstring("Secret "+ns+"/exec"), ContainSubstring("exec plugin"), ContainSubstring("token or client certificate")))

	// A missing Secret is waited for, then used once it exists.
	late := newKustomization(t, ns, "late", "repo", func(ks *kustomizev1.Kustomization) {
		ks.Spec.Path = "late"
		ks.Spec.RetryInterval = &metav1.Duration{Duration: time.Second}
		ks.Spec.KubeConfig = &meta.KubeConfigReference{SecretRef: &meta.SecretKeyReference{Name: "later"}}
	})
	cur = waitReady(t, late, metav1.ConditionFalse, kubeconfig.ReasonNotFound, 30*time.Second)
	g.Expect(conditions.IsStalled(cur)).To(BeFalse())
	g.Expect(conditions.GetMessage(cur, meta.ReadyCondition)).To(ContainSubstring("kubeconfig Secret " + ns + "/later not found"))
	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "later"},
		Data: map[string][]byte{"value": remoteKubeconfig}})).To(Succeed())
	waitReady(t, late, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)
	g.Expect(inRemote("d")).To(BeTrue())
	g.Expect(exists(configMapGVK, ns, "d")).To(BeFalse())

	// When its kubeconfig Secret is gone first, a deleted Kustomization
	// leaves its objects in the remote cluster instead of blocking.
	tempSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "temp"}, Data: map[string][]byte{"value": remoteKubeconfig}}
	g.Expect(env.Client.Create(ctx, tempSecret)).To(Succeed())
	orphan := newKustomization(t, ns, "orphan", "repo", func(ks *kustomizev1.Kustomization) {
		ks.Spec.Path = "orphan"
		ks.Spec.KubeConfig = &meta.KubeConfigReference{SecretRef: &meta.SecretKeyReference{Name: "temp"}}
	})
	waitReady(t, orphan, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)
	g.Expect(env.Client.Delete(ctx, tempSecret)).To(Succeed())
	g.Expect(env.Client.Delete(ctx, orphan)).To(Succeed())
	g.Eventually(func() bool {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(orphan), &kustomizev1.Kustomization{})
		return apierrors.IsNotFound(err)
	}, 30*time.Second, 200*time.Millisecond).Should(BeTrue())
	g.Expect(inRemote("e")).To(BeTrue())

	// Deleting the Kustomizations deletes their objects in the remote
	// cluster (while it is still up).
	for _, ks := range []*kustomizev1.Kustomization{app, tenant, execKs, late} {
		g.Expect(env.Client.Delete(ctx, ks)).To(Succeed())
	}
	g.Eventually(func() bool {
		var list kustomizev1.KustomizationList
		g.Expect(env.Client.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
		return len(list.Items) == 0
	}, 30*time.Second, 200*time.Millisecond).Should(BeTrue())
	g.Expect(inRemote("a") || inRemote("d")).To(BeFalse())
}
