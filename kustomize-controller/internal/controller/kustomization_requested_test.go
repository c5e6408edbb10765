package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

// TestRequestedReconcileWritesNothing: a requested reconcile (`gotk
// reconcile`, a webhook) with nothing changed writes none of the applied
// objects — and, the objects read with one list per kind, dry-runs none
// either — while a changed object is still found and re-applied alone.
func TestRequestedReconcileWritesNothing(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	var all []string
	for i := range 48 {
		all = append(all, configMap(ns, fmt.Sprintf("cm-%d", i), ""))
	}
	all = append(all, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: "+ns+"}\n"+
		"spec:\n  replicas: 0\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"+
		"    spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]}\n")
	newGitRepository(t, ns, "repo", publish(t, map[string]string{"all.yaml": strings.Join(all, "---\n")}))
	ks := newKustomization(t, ns, "app", "repo", nil)
	waitReady(t, ks, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 60*time.Second)

	versions := func() map[string]string {
		out := map[string]string{}
		var cms corev1.ConfigMapList
		g.Expect(env.Client.List(ctx, &cms, client.InNamespace(ns), client.HasLabels{kustomizev1.NameLabel})).To(Succeed())
		for _, cm := range cms.Items {
			out["ConfigMap/"+cm.Name] = cm.ResourceVersion
		}
		u := deploymentObject(ns, "web")
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(u), u)).To(Succeed())
		out["Deployment/web"] = u.GetResourceVersion()
		return out
	}
	request := func() {
		t.Helper()
		token := time.Now().Format(time.RFC3339Nano)
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, meta.ReconcileRequestAnnotation, token)
		g.Expect(env.Client.Patch(ctx, ks.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(patch)))).To(Succeed())
		g.Eventually(func(g Gomega) {
			cur := &kustomizev1.Kustomization{}
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ks), cur)).To(Succeed())
			g.Expect(cur.Status.LastHandledReconcileAt).To(Equal(token))
		}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
		waitReady(t, ks, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)
	}

	// The cluster's deployment controller writes the Deployment's status
	// (a new resourceVersion) after it was applied: wait until it has
	// settled so that only this controller could move it afterwards.
	g.Eventually(func(g Gomega) {
		u := deploymentObject(ns, "web")
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(u), u)).To(Succeed())
		observed, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
		g.Expect(observed).To(Equal(u.GetGeneration()))
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		reasons := map[string]any{}
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok {
				reasons[fmt.Sprint(m["type"])] = m["reason"]
			}
		}
		g.Expect(reasons).To(HaveKeyWithValue("Progressing", "NewReplicaSetAvailable"))
		g.Expect(reasons).To(HaveKey("Available"))
	}, 60*time.Second, 100*time.Millisecond).Should(Succeed())
	before := versions()
	g.Expect(before).To(HaveLen(49))
	_, _, dry0 := apiRequests.Snapshot()
	request()
	_, _, dry1 := apiRequests.Snapshot()
	g.Expect(versions()).To(Equal(before), "a requested reconcile with nothing changed wrote objects")
	t.Logf("dry-runs during the requested reconcile (any controller): %d", dry1-dry0)
	g.Expect(dry1-dry0).To(BeNumerically("<", int64(len(before))), "each object was dry-run, not read with one list and compared")

	// Drift: one object edited by another hand is re-applied, the others
	// stay untouched.
	var cm corev1.ConfigMap
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "cm-7"}, &cm)).To(Succeed())
	cm.Data["key"] = "edited"
	g.Expect(env.Client.Update(ctx, &cm, client.FieldOwner("kubectl-edit"))).To(Succeed())
	request()
	g.Eventually(func() string {
		_ = env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "cm-7"}, &cm)
		return cm.Data["key"]
	}, 30*time.Second, 100*time.Millisecond).Should(Equal("value"))
	after := versions()
	for k, v := range before {
		if k == "ConfigMap/cm-7" {
			g.Expect(after[k]).NotTo(Equal(v))
			continue
		}
		g.Expect(after[k]).To(Equal(v), "%s was written", k)
	}
}

func deploymentObject(ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(deploymentGVK)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}
