package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

const gadgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.health.gotk.dev
spec:
  group: health.gotk.dev
  names: {kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`

var gadgetGVK = schema.GroupVersionKind{Group: "health.gotk.dev", Version: "v1", Kind: "Gadget"}

func gadget(ns, name string) string {
	return "apiVersion: health.gotk.dev/v1\nkind: Gadget\nmetadata:\n  name: " + name + "\n  namespace: " + ns + "\nspec:\n  size: 1\n"
}

// setGadgetPhase writes status.phase as the Gadget's own controller would,
// once the object exists.
func setGadgetPhase(t *testing.T, ns, name, phase string) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gadgetGVK)
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u); err != nil {
			return err
		}
		if err := unstructured.SetNestedField(u.Object, phase, "status", "phase"); err != nil {
			return err
		}
		return env.Client.Status().Update(context.Background(), u)
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
}

// TestHealthCheckExprs: a custom kind's health is read with the CEL
// expressions of spec.healthCheckExprs (Flux's top-level fields and self
// both work); a failed expression names the object and the expression; an
// expression that does not compile stalls before anything is applied.
func TestHealthCheckExprs(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	newGitRepository(t, ns, "repo", publish(t, map[string]string{
		"crd/crd.yaml": gadgetCRD,
		"good/g.yaml":  gadget(ns, "good"),
		"bad/g.yaml":   gadget(ns, "bad"),
		"cm/cm.yaml":   configMap(ns, "never", ""),
	}))
	crds := newKustomization(t, ns, "crds", "repo", func(ks *kustomizev1.Kustomization) {
		ks.Spec.Path = "crd"
		ks.Spec.Prune = false
	})
	waitReady(t, crds, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)

	exprs := []kustomize.CustomHealthCheck{{APIVersion: "health.gotk.dev/v1", Kind: "Gadget",
		HealthCheckExpressions: kustomize.HealthCheckExpressions{
			InProgress: "status.?phase.orValue('') == 'Provisioning'",
			Failed:     "self.status.phase == 'Broken'",
			Current:    "status.phase == 'Running'",
		}}}
	good := newKustomization(t, ns, "good", "repo", func(ks *kustomizev1.Kustomization) {
		ks.Spec.Path = "good"
		ks.Spec.Wait = true
		ks.Spec.Timeout = &metav1.Duration{Duration: 2 * time.Minute}
		ks.Spec.HealthCheckExprs = exprs
	})
	// kstatus alone would call a Gadget without conditions healthy at
	// once; the expressions keep it in progress until it is Running.
	setGadgetPhase(t, ns, "good", "Provisioning")
	g.Consistently(func() bool {
		cur := &kustomizev1.Kustomization{}
		_ = env.Client.Get(context.Background(), client.ObjectKeyFromObject(good), cur)
		return conditions.IsReady(cur)
	}, 2*time.Second, 200*time.Millisecond).Should(BeFalse())
	setGadgetPhase(t, ns, "good", "Running")
	cur := waitReady(t, good, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 60*time.Second)
	g.Expect(conditions.IsTrue(cur, kustomizev1.HealthyCondition)).To(BeTrue())

	bad := newKustomization(t, ns, "bad", "repo", func(ks *kustomizev1.Kustomization) {
		ks.Spec.Path = "bad"
		ks.Spec.Timeout = &metav1.Duration{Duration: 2 * time.Minute}
		ks.Spec.HealthChecks = []meta.NamespacedObjectKindReference{{APIVersion: "health.gotk.dev/v1", Kind: "Gadget", Name: "bad"}}
		ks.Spec.HealthCheckExprs = exprs
	})
	setGadgetPhase(t, ns, "bad", "Broken")
	cur = waitReady(t, bad, metav1.ConditionFalse, kustomizev1.HealthCheckFailedReason, 60*time.Second)
	g.Expect(conditions.GetMessage(cur, meta.ReadyCondition)).To(And(
		ContainSubstring("Gadget/"+ns+"/bad"), ContainSubstring(`failed expression "self.status.phase == 'Broken'" is true`)))

	broken := newKustomization(t, ns, "broken", "repo", func(ks *kustomizev1.Kustomization) {
		ks.Spec.Path = "cm"
		ks.Spec.Wait = true
		ks.Spec.HealthCheckExprs = []kustomize.CustomHealthCheck{{APIVersion: "health.gotk.dev/v1", Kind: "Gadget",
			HealthCheckExpressions: kustomize.HealthCheckExpressions{Current: "status.phase = 'Running'"}}}
	})
	cur = waitReady(t, broken, metav1.ConditionFalse, kustomizev1.InvalidCELExpressionReason, 30*time.Second)
	g.Expect(conditions.IsStalled(cur)).To(BeTrue())
	g.Expect(conditions.GetMessage(cur, meta.ReadyCondition)).To(ContainSubstring(`current expression "status.phase = 'Running'" does not compile`))
	g.Expect(exists(configMapGVK, ns, "never")).To(BeFalse())
}
