package controller

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/runtime/reconcile"

	"gotk.dev/kustomize-controller/internal/drift"
)

// TestDriftWatch: with interval 1h, a kubectl-style edit and a delete are
// undone by the watch on applied objects, not by the interval.
func TestDriftWatch(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	newGitRepository(t, ns, "repo", publish(t, map[string]string{"cm.yaml": configMap(ns, "a", "")}))
	ks := newKustomization(t, ns, "app", "repo", nil)
	waitReady(t, ks, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)

	var cm corev1.ConfigMap
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "a"}, &cm)).To(Succeed())
		cm.Data["key"] = "edited"
		g.Expect(env.Client.Update(context.Background(), &cm, client.FieldOwner("kubectl-edit"))).To(Succeed())
	}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Eventually(func() string {
		_ = env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "a"}, &cm)
		return cm.Data["key"]
	}, 30*time.Second, 100*time.Millisecond).Should(Equal("value"))

	uid := cm.UID
	g.Expect(env.Client.Delete(context.Background(), &cm)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "a"}, &cm)).To(Succeed())
		g.Expect(cm.UID).NotTo(Equal(uid))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
}

// TestReplicasFight: another manager (standing in for an HPA) sets
// spec.replicas back after every correction; the controller detects the
// flip-flop, warns naming the manager and the field, and stops fighting.
func TestReplicasFight(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	dep := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: " + ns + `
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx}]
`
	newGitRepository(t, ns, "repo", publish(t, map[string]string{"dep.yaml": dep}))
	ks := newKustomization(t, ns, "app", "repo", nil)
	waitReady(t, ks, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // the other controller: replicas must be 2
		for ctx.Err() == nil {
			var d appsv1.Deployment
			if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &d); err == nil && *d.Spec.Replicas != 2 {
				two := int32(2)
				d.Spec.Replicas = &two
				_ = env.Client.Update(ctx, &d, client.FieldOwner("autoscaler"))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()

	g.Eventually(func() []string {
		var list corev1.EventList
		_ = env.Client.List(context.Background(), &list, client.InNamespace(ns))
		var msgs []string
		for _, e := range list.Items {
			if e.Reason == "DriftFight" {
				msgs = append(msgs, e.Message)
			}
		}
		return msgs
	}, 60*time.Second, 200*time.Millisecond).Should(ContainElement(And(
		ContainSubstring("Deployment/"+ns+"/web"), ContainSubstring(`"autoscaler"`),
		ContainSubstring("spec.replicas"), ContainSubstring("spec.ignore"))))

	// Once reported, the controller leaves replicas to the other manager.
	cancel()
	g.Consistently(func() int32 {
		var d appsv1.Deployment
		_ = env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "web"}, &d)
		return *d.Spec.Replicas
	}, 3*time.Second, 200*time.Millisecond).Should(BeEquivalentTo(2))
}

// TestUnchangedReconcileIsNoop: an interval reconcile with the same
// revision and spec and no drift seen writes nothing at all — not even
// the Kustomization's status.
func TestUnchangedReconcileIsNoop(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	newGitRepository(t, ns, "repo", publish(t, map[string]string{"cm.yaml": configMap(ns, "a", "")}))
	ks := newKustomization(t, ns, "app", "repo", nil)
	before := waitReady(t, ks, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)
	var cm corev1.ConfigMap
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "a"}, &cm)).To(Succeed())

	skeleton := &reconcile.Reconciler[*kustomizev1.Kustomization]{
		Client: env.Client, ControllerName: controllerName, Kind: reconciler,
		NewObject: func() *kustomizev1.Kustomization { return &kustomizev1.Kustomization{} },
	}
	g.Eventually(func() bool { // the watch on ConfigMaps is synced
		_, ok := reconciler.unchanged(context.Background(), before)
		return ok
	}, 10*time.Second, 100*time.Millisecond).Should(BeTrue())
	res, err := skeleton.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(ks)})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.RequeueAfter).To(BeNumerically(">", 0))

	after := &kustomizev1.Kustomization{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(ks), after)).To(Succeed())
	g.Expect(after.ResourceVersion).To(Equal(before.ResourceVersion))
	var cmAfter corev1.ConfigMap
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "a"}, &cmAfter)).To(Succeed())
	g.Expect(cmAfter.ResourceVersion).To(Equal(cm.ResourceVersion))
}

// TestDriftWatchSyncWait: a reconcile right after a start waits for the
// drift watch's first list (so it can be verified from the cache), but a
// watch whose list is refused is waited for only once, up to the timeout.
func TestDriftWatchSyncWait(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gvks := []schema.GroupVersionKind{configMapGVK}
	for _, tc := range []struct {
		name string
		cfg  *rest.Config
		want bool
	}{
		{name: "allowed", cfg: env.Config, want: true},
		{name: "refused", cfg: impersonated(env.Config, "system:serviceaccount:default:nobody"), want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &drift.Watcher{Client: metadata.NewForConfigOrDie(tc.cfg), Mapper: env.Client.RESTMapper(), FieldManager: FieldManager}
			w.Bind(ctx)
			start := time.Now()
			g.Expect(w.EnsureSynced(ctx, gvks, 2*time.Second)).To(Equal(tc.want))
			g.Expect(time.Since(start)).To(BeNumerically("<", 10*time.Second))
			if !tc.want {
				g.Expect(time.Since(start)).To(BeNumerically(">=", 2*time.Second), "it waited for the list")
				again := time.Now()
				g.Expect(w.EnsureSynced(ctx, gvks, 2*time.Second)).To(BeFalse())
				g.Expect(time.Since(again)).To(BeNumerically("<", time.Second), "a failing watch is not waited for twice")
			}
		})
	}
}

func impersonated(cfg *rest.Config, user string) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.Impersonate = rest.ImpersonationConfig{UserName: user}
	return c
}
