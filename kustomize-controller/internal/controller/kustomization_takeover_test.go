package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/testenv"

	"gotk.dev/kustomize-controller/internal/apply"
)

// TestKubectlFieldManagersTakenOver: objects first created by kubectl
// (client-side apply) or edited with kubectl edit/scale have their
// managers' fields taken over on the first apply, so a field later removed
// from the source is removed from the object; another manager's fields
// are left alone, as are kubectl's on an object annotated ssa: Merge.
func TestKubectlFieldManagersTakenOver(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	managers := []string{"kubectl-client-side-apply", "kubectl-edit", "before-first-apply", "kubectl", "other-controller", "kubectl-client-side-apply"}
	const merged = 5 // annotated kustomize.toolkit.fluxcd.io/ssa: Merge in the source
	v1 := map[string]string{}
	v2 := map[string]string{}
	for i, m := range managers {
		name := fmt.Sprintf("cm-%d", i)
		// Created through the API as that manager (an Update operation, as
		// kubectl's own requests are), with the field the source drops later.
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"data":{"extra":"x"}}`}},
			Data: map[string]string{"key": "value", "extra": "x"}}
		g.Expect(env.Client.Create(ctx, cm, client.FieldOwner(m))).To(Succeed())
		extra := ""
		if i == merged {
			extra = "  annotations:\n    kustomize.toolkit.fluxcd.io/ssa: Merge\n"
		}
		v1[name+".yaml"] = configMap(ns, name, extra) + "  extra: x\n"
		v2[name+".yaml"] = configMap(ns, name, extra)
	}
	repo := newGitRepository(t, ns, "repo", publish(t, v1))
	ks := newKustomization(t, ns, "app", "repo", nil)
	waitReady(t, ks, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)
	for i, m := range managers[:4] {
		var cm corev1.ConfigMap
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: fmt.Sprintf("cm-%d", i)}, &cm)).To(Succeed())
		for _, e := range cm.ManagedFields {
			g.Expect(e.Manager).NotTo(Equal(m), "%s keeps fields of %s: %+v", cm.Name, m, cm.ManagedFields)
		}
		g.Expect(cm.Annotations).NotTo(HaveKey("kubectl.kubernetes.io/last-applied-configuration"))
	}

	art := publish(t, v2)
	setArtifact(t, repo, art)
	waitApplied(t, ks, art.Revision, 30*time.Second)
	for i, m := range managers {
		var cm corev1.ConfigMap
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: fmt.Sprintf("cm-%d", i)}, &cm)).To(Succeed())
		if m == "other-controller" || i == merged {
			g.Expect(cm.Data).To(HaveKeyWithValue("extra", "x"), "fields of %s are its own", m)
			continue
		}
		g.Expect(cm.Data).To(Equal(map[string]string{"key": "value"}), "created by %s", m)
	}
}

// TestTakeoverAfterConcurrentWrite: the takeover of kubectl's fields is
// made from a read of the object; when another writer changes the object
// before the takeover is sent (its own controller adding a finalizer or
// a status, as happens to a Kustomization applied by a Kustomization),
// the API server refuses the stale patch and the apply reads the object
// again instead of failing the reconcile.
func TestTakeoverAfterConcurrentWrite(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Data: map[string]string{"key": "value", "extra": "x"}}
	g.Expect(env.Client.Create(ctx, cm, client.FieldOwner("kubectl-client-side-apply"))).To(Succeed())

	takeovers, conflicts := 0, 0
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	c := interceptor.NewClient(wc, interceptor.Funcs{
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			if patch.Type() != types.MergePatchType {
				return c.Patch(ctx, obj, patch, opts...)
			}
			takeovers++
			if takeovers == 1 {
				// Another writer changes the object between the read and the takeover.
				other := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app", Labels: map[string]string{"other": "yes"}}}
				if err := env.Client.Patch(ctx, other, client.Merge, client.FieldOwner("other-controller")); err != nil {
					return err
				}
			}
			err := c.Patch(ctx, obj, patch, opts...)
			if apierrors.IsConflict(err) {
				conflicts++
			}
			return err
		},
	})
	m := &apply.Manager{Client: c, FieldManager: "kustomize-controller"}
	desired, err := testenv.DecodeManifests(configMap(ns, "app", ""))
	g.Expect(err).NotTo(HaveOccurred())
	_, err = m.Apply(ctx, desired, apply.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(conflicts).To(Equal(1), "the first takeover was made from a stale read")
	g.Expect(takeovers).To(Equal(2))

	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(cm), cm)).To(Succeed())
	g.Expect(cm.Data).To(Equal(map[string]string{"key": "value"}), "kubectl's field was taken over, so the source dropped it")
	g.Expect(cm.Labels).To(HaveKeyWithValue("other", "yes"), "the other writer's change stays")
	for _, e := range cm.ManagedFields {
		g.Expect(e.Manager).NotTo(Equal("kubectl-client-side-apply"))
	}
}
