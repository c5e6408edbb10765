package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	fluxcontroller "github.com/fluxcd/pkg/runtime/controller"
	"github.com/fluxcd/pkg/runtime/events"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/runtime/metricstest"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testenv"
)

// TestMetricsKustomization checks that a reconciled Kustomization exports
// Flux's reconcile metrics and that deleting it drops its series.
func TestMetricsKustomization(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	newGitRepository(t, ns, "repo", publish(t, map[string]string{"cm.yaml": configMap(ns, "measured", "")}))
	ks := newKustomization(t, ns, "measured", "repo", nil)
	waitReady(t, ks, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)
	metricstest.ExpectMeasured(g, kustomizev1.KustomizationKind, ns, ks.Name, metav1.ConditionTrue, false)

	g.Expect(env.Client.Delete(context.Background(), ks)).To(Succeed())
	metricstest.ExpectForgotten(g, kustomizev1.KustomizationKind, ns, ks.Name)
}

// startShard runs a Kustomization controller configured by mutate in a
// manager of its own, for the objects labelled with shard.
func startShard(t *testing.T, shard string, o reconcile.ControllerOptions, mutate func(*KustomizationReconciler)) {
	metricstest.StartShard(t, env.Config, env.Scheme, shard, func(mgr ctrl.Manager) error {
		rec, err := events.NewRecorder(ctrl.Log, "", controllerName, events.WithManager(mgr))
		if err != nil {
			return err
		}
		r := newReconciler(mgr.GetClient(), mgr.GetAPIReader(), rec)
		if mutate != nil {
			mutate(r)
		}
		return r.SetupWithManager(context.Background(), mgr, o)
	})
}

// labelShard labels obj for the shard manager of a test.
func labelShard(obj client.Object, shard string) {
	obj.SetLabels(map[string]string{metricstest.ShardLabel: shard})
}

// TestMetricsRetryDelay checks that --min-retry-delay reaches the
// Kustomization controller: a Kustomization whose artifact cannot be
// downloaded is retried no sooner than the delay.
func TestMetricsRetryDelay(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	const minDelay = 2 * time.Second
	startShard(t, "retry", reconcile.ControllerOptions{Concurrent: 1,
		RateLimiter: fluxcontroller.RateLimiterOptions{MinRetryDelay: minDelay, MaxRetryDelay: time.Minute}}, nil)

	ports, err := testenv.FreePorts(1)
	g.Expect(err).NotTo(HaveOccurred())
	art := publish(t, map[string]string{"cm.yaml": configMap(ns, "x", "")})
	art.URL = fmt.Sprintf("http://127.0.0.1:%d/gone.tar.gz", ports[0])
	repo := newGitRepository(t, ns, "repo", nil)
	patchLabels(t, repo, "retry")
	setArtifact(t, repo, art)
	newKustomization(t, ns, "unreachable", "repo", func(ks *kustomizev1.Kustomization) { labelShard(ks, "retry") })
	metricstest.ExpectBackoff(g, kustomizev1.KustomizationKind, ns, "unreachable", minDelay)
	metricstest.ExpectMeasured(g, kustomizev1.KustomizationKind, ns, "unreachable", metav1.ConditionFalse, false)
}

// patchLabels puts an existing object into shard.
func patchLabels(t *testing.T, obj client.Object, shard string) {
	t.Helper()
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	labelShard(obj, shard)
	if err := env.Client.Patch(context.Background(), obj, patch); err != nil {
		t.Fatal(err)
	}
}

// TestFeatureGatesStrictPostBuildSubstitutions checks the behaviour
// StrictPostBuildSubstitutions=false selects: an undefined variable
// becomes empty instead of failing the build (the package's shared
// controller runs strict, the default).
func TestFeatureGatesStrictPostBuildSubstitutions(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	startShard(t, "lenient", testControllerOptions(2), func(r *KustomizationReconciler) { r.StrictSubstitution = false })

	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: " + ns +
		"\ndata:\n  defined: ${defined}\n  missing: \"${undefined_var}\"\n"
	art := publish(t, map[string]string{"cm.yaml": cm})
	postBuild := func(ks *kustomizev1.Kustomization) {
		ks.Spec.PostBuild = &kustomizev1.PostBuild{Substitute: map[string]string{"defined": "eu"}}
	}
	newGitRepository(t, ns, "strict-repo", art)
	strict := newKustomization(t, ns, "strict", "strict-repo", postBuild)
	waitReady(t, strict, metav1.ConditionFalse, kustomizev1.BuildFailedReason, 30*time.Second)

	repo := newGitRepository(t, ns, "lenient-repo", nil)
	patchLabels(t, repo, "lenient")
	setArtifact(t, repo, art)
	lenient := newKustomization(t, ns, "lenient", "lenient-repo", func(ks *kustomizev1.Kustomization) {
		postBuild(ks)
		labelShard(ks, "lenient")
	})
	waitReady(t, lenient, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)
	g.Eventually(func(g Gomega) {
		var got corev1.ConfigMap
		g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "app"}, &got)).To(Succeed())
		g.Expect(got.Data).To(Equal(map[string]string{"defined": "eu", "missing": ""}))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
}
