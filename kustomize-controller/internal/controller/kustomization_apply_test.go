package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

// requestReconcile sets reconcile.fluxcd.io/requestedAt, as `flux
// reconcile` does.
func requestReconcile(t *testing.T, ks *kustomizev1.Kustomization) string {
	t.Helper()
	token := time.Now().Format(time.RFC3339Nano)
	NewWithT(t).Eventually(func() error {
		cur := &kustomizev1.Kustomization{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(ks), cur); err != nil {
			return err
		}
		a := cur.GetAnnotations()
		if a == nil {
			a = map[string]string{}
		}
		a[meta.ReconcileRequestAnnotation] = token
		cur.SetAnnotations(a)
		return env.Client.Update(context.Background(), cur)
	}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
	return token
}

func waitHandled(t *testing.T, ks *kustomizev1.Kustomization, token string) *kustomizev1.Kustomization {
	t.Helper()
	cur := &kustomizev1.Kustomization{}
	NewWithT(t).Eventually(func() string {
		_ = env.Client.Get(context.Background(), client.ObjectKeyFromObject(ks), cur)
		return cur.Status.LastHandledReconcileAt
	}, 30*time.Second, 100*time.Millisecond).Should(Equal(token))
	return cur
}

func TestPruneAndBuildFailure(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	files := map[string]string{
		"app/a.yaml":    configMap(ns, "a", ""),
		"app/b.yaml":    configMap(ns, "b", ""),
		"app/keep.yaml": configMap(ns, "keep", "  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n"),
	}
	repo := newGitRepository(t, ns, "repo", publish(t, files))
	ks := newKustomization(t, ns, "app", "repo", func(ks *kustomizev1.Kustomization) { ks.Spec.Path = "app" })
	cur := waitReady(t, ks, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)
	g.Expect(cur.Status.Inventory.Entries).To(HaveLen(3))

	// A broken revision prunes nothing, even though "b" is gone from it.
	broken := map[string]string{"app/a.yaml": configMap(ns, "a", ""), "app/kustomization.yaml": "resources: [missing.yaml]\n"}
	setArtifact(t, repo, publish(t, broken))
	cur = waitReady(t, ks, metav1.ConditionFalse, kustomizev1.BuildFailedReason, 30*time.Second)
	g.Expect(conditions.GetMessage(cur, meta.ReadyCondition)).To(ContainSubstring("missing.yaml"))
	g.Expect(exists(configMapGVK, ns, "b")).To(BeTrue())
	g.Expect(cur.Status.Inventory.Entries).To(HaveLen(3))

	// Removing b and keep prunes b; keep is protected by its annotation.
	art := publish(t, map[string]string{"app/a.yaml": configMap(ns, "a", "")})
	setArtifact(t, repo, art)
	g.Eventually(func() bool { return exists(configMapGVK, ns, "b") }, 30*time.Second, 200*time.Millisecond).Should(BeFalse())
	cur = waitApplied(t, ks, art.Revision, 30*time.Second)
	g.Expect(cur.Status.Inventory.Entries).To(ConsistOf(kustomizev1.ResourceRef{ID: ns + "_a__ConfigMap", Version: "v1"}))
	g.Expect(exists(configMapGVK, ns, "keep")).To(BeTrue())
	g.Expect(exists(configMapGVK, ns, "a")).To(BeTrue())
}

func TestUnchangedRevisionWritesNothing(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	newGitRepository(t, ns, "repo", publish(t, map[string]string{"cm.yaml": configMap(ns, "a", "")}))
	ks := newKustomization(t, ns, "app", "repo", nil)
	waitReady(t, ks, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)
	var before corev1.ConfigMap
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "a"}, &before)).To(Succeed())

	waitHandled(t, ks, requestReconcile(t, ks))
	var after corev1.ConfigMap
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "a"}, &after)).To(Succeed())
	g.Expect(after.ResourceVersion).To(Equal(before.ResourceVersion))
}

func TestDriftCorrectedOnReconcile(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	newGitRepository(t, ns, "repo", publish(t, map[string]string{"cm.yaml": configMap(ns, "a", "")}))
	ks := newKustomization(t, ns, "app", "repo", nil)
	waitReady(t, ks, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)

	// A kubectl-style edit (update by another manager) of an applied field.
	var cm corev1.ConfigMap
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "a"}, &cm)).To(Succeed())
	cm.Data["key"] = "edited"
	g.Expect(env.Client.Update(context.Background(), &cm, client.FieldOwner("kubectl-edit"))).To(Succeed())

	waitHandled(t, ks, requestReconcile(t, ks))
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "a"}, &cm)).To(Succeed())
	g.Expect(cm.Data["key"]).To(Equal("value"))
}

func TestAnnotationsAndForce(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	frozen := func(v string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: frozen\n  namespace: " + ns +
			"\n  annotations:\n    kustomize.toolkit.fluxcd.io/force: enabled\nimmutable: true\ndata:\n  key: " + v + "\n"
	}
	files := map[string]string{
		"ignored.yaml":  configMap(ns, "ignored", "  annotations:\n    kustomize.toolkit.fluxcd.io/ssa: Ignore\n"),
		"disabled.yaml": configMap(ns, "disabled", "  annotations:\n    kustomize.toolkit.fluxcd.io/reconcile: disabled\n"),
		"once.yaml":     configMap(ns, "once", "  annotations:\n    kustomize.toolkit.fluxcd.io/ssa: IfNotPresent\n"),
		"frozen.yaml":   frozen("v1"),
	}
	repo := newGitRepository(t, ns, "repo", publish(t, files))
	ks := newKustomization(t, ns, "app", "repo", nil)
	cur := waitReady(t, ks, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)
	g.Expect(exists(configMapGVK, ns, "ignored")).To(BeFalse())
	g.Expect(exists(configMapGVK, ns, "disabled")).To(BeFalse())
	g.Expect(exists(configMapGVK, ns, "once")).To(BeTrue())
	g.Expect(cur.Status.Inventory.Entries).To(HaveLen(2)) // once, frozen

	// IfNotPresent: a live edit is kept. force: an immutable change recreates.
	var once corev1.ConfigMap
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "once"}, &once)).To(Succeed())
	once.Data["key"] = "mine"
	g.Expect(env.Client.Update(context.Background(), &once)).To(Succeed())
	var before corev1.ConfigMap
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "frozen"}, &before)).To(Succeed())

	files["frozen.yaml"] = frozen("v2")
	setArtifact(t, repo, publish(t, files))
	g.Eventually(func(g Gomega) {
		var after corev1.ConfigMap
		g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "frozen"}, &after)).To(Succeed())
		g.Expect(after.UID).NotTo(Equal(before.UID))
		g.Expect(after.Data["key"]).To(Equal("v2"))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
	waitReady(t, ks, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "once"}, &once)).To(Succeed())
	g.Expect(once.Data["key"]).To(Equal("mine"))
}

func TestCRDAndCustomResourceInOneSource(t *testing.T) {
	ns := env.NewNamespace(t)
	crd := `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.gotk.dev
spec:
  group: example.gotk.dev
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`
	cr := "apiVersion: example.gotk.dev/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: " + ns + "\nspec:\n  size: 3\n"
	newGitRepository(t, ns, "repo", publish(t, map[string]string{"crd.yaml": crd, "cr.yaml": cr}))
	ks := newKustomization(t, ns, "app", "repo", func(ks *kustomizev1.Kustomization) { ks.Spec.Prune = false })
	cur := waitReady(t, ks, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 60*time.Second)
	NewWithT(t).Expect(cur.Status.Inventory.Entries).To(ContainElement(kustomizev1.ResourceRef{ID: ns + "_w_example.gotk.dev_Widget", Version: "v1"}))
}
