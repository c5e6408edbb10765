package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	fluxcontroller "github.com/fluxcd/pkg/runtime/controller"
	"github.com/fluxcd/pkg/runtime/events"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/artifact"
	"gotk.dev/pkg/runtime/metricstest"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testenv"

	"gotk.dev/helm-controller/internal/action"
	"gotk.dev/helm-controller/internal/chart"
)

// TestMetricsHelmRelease checks that a reconciled HelmRelease exports
// Flux's reconcile metrics and that deleting it drops its series.
func TestMetricsHelmRelease(t *testing.T) {
	startController(t)
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	publishChart(t, ns, "app", appChart(t, "1.0.0"), "1.0.0")
	hr := newRelease(ns, "measured", "app", "")
	g.Expect(env.Client.Create(context.Background(), hr)).To(Succeed())
	eventuallyReady(t, hr, 90*time.Second)
	metricstest.ExpectMeasured(g, helmv2.HelmReleaseKind, ns, hr.Name, metav1.ConditionTrue, false)

	g.Expect(env.Client.Delete(context.Background(), hr)).To(Succeed())
	metricstest.ExpectForgotten(g, helmv2.HelmReleaseKind, ns, hr.Name)
}

// startShard runs a HelmRelease controller, configured as the shared one
// and then by mutate, in a manager of its own for the objects labelled
// with shard.
func startShard(t *testing.T, shard string, o reconcile.ControllerOptions, mutate func(*HelmReleaseReconciler)) {
	metricstest.StartShard(t, env.Config, env.Scheme, shard, func(mgr ctrl.Manager) error {
		rec, err := events.NewRecorder(ctrl.Log, "", ControllerName, events.WithManager(mgr))
		if err != nil {
			return err
		}
		clients, err := action.NewClients(env.Config)
		if err != nil {
			return err
		}
		r := &HelmReleaseReconciler{
			Client: mgr.GetClient(), Events: rec, Clients: clients,
			Charts:            chart.NewLoader(artifact.NewFetcher(1, 10*time.Second, 0), 0),
			DependencyRequeue: time.Second,
		}
		if mutate != nil {
			mutate(r)
		}
		return r.SetupWithManager(context.Background(), mgr, o)
	})
}

// shardLabels puts an object into shard.
func shardLabels(shard string) map[string]string {
	return map[string]string{metricstest.ShardLabel: shard}
}

// TestMetricsRetryDelay checks that --min-retry-delay reaches the
// HelmRelease controller: a release whose chart cannot be downloaded is
// retried no sooner than the delay.
func TestMetricsRetryDelay(t *testing.T) {
	startController(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	const minDelay = 2 * time.Second
	startShard(t, "retry", reconcile.ControllerOptions{Concurrent: 1,
		RateLimiter: fluxcontroller.RateLimiterOptions{MinRetryDelay: minDelay, MaxRetryDelay: time.Minute}}, nil)

	ports, err := testenv.FreePorts(1)
	g.Expect(err).NotTo(HaveOccurred())
	hc := &sourcev1.HelmChart{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gone", Labels: shardLabels("retry")},
		Spec: sourcev1.HelmChartSpec{Chart: "gone", Version: "*", Interval: metav1.Duration{Duration: time.Hour},
			SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.HelmRepositoryKind, Name: "charts"}},
	}
	g.Expect(env.Client.Create(ctx, hc)).To(Succeed())
	hc.Status.Artifact = &meta.Artifact{Path: "helmchart/gone.tgz", Revision: "1.0.0", LastUpdateTime: metav1.Now(),
		URL: fmt.Sprintf("http://127.0.0.1:%d/helmchart/gone.tgz", ports[0]), Digest: digestOf([]byte("gone"))}
	hc.Status.ObservedGeneration = hc.Generation
	g.Expect(env.Client.Status().Update(ctx, hc)).To(Succeed())

	hr := newRelease(ns, "unreachable", "gone", "")
	hr.Labels = shardLabels("retry")
	g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
	metricstest.ExpectBackoff(g, helmv2.HelmReleaseKind, ns, hr.Name, minDelay)
	metricstest.ExpectMeasured(g, helmv2.HelmReleaseKind, ns, hr.Name, metav1.ConditionFalse, false)
}

// TestFeatureGatesDriftDefault checks the mapping of the DetectDrift and
// CorrectDrift gates to a default drift detection mode.
func TestFeatureGatesDriftDefault(t *testing.T) {
	for _, tc := range []struct {
		detect, correct bool
		want            helmv2.DriftDetectionMode
	}{
		{false, false, ""},
		{false, true, ""},
		{true, false, helmv2.DriftDetectionWarn},
		{true, true, helmv2.DriftDetectionEnabled},
	} {
		t.Run(fmt.Sprintf("DetectDrift=%t,CorrectDrift=%t", tc.detect, tc.correct), func(t *testing.T) {
			NewWithT(t).Expect(DriftDefault(tc.detect, tc.correct)).To(Equal(tc.want))
		})
	}
}

// TestFeatureGatesDetectDrift checks the behaviour DetectDrift=true
// selects: a HelmRelease that sets no spec.driftDetection has its drift
// reported (warn), where the shared controller (gate off) ignores it.
func TestFeatureGatesDetectDrift(t *testing.T) {
	startController(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	startShard(t, "detect-drift", reconcile.ControllerOptions{Concurrent: 2}, func(r *HelmReleaseReconciler) {
		r.DriftDefault = DriftDefault(true, false)
	})
	// One chart per manager: the shared one does not see the shard's.
	publishChart(t, ns, "app", appChart(t, "1.0.0"), "1.0.0")
	publishChart(t, ns, "gated-app", appChart(t, "1.0.0"), "1.0.0")
	var hc sourcev1.HelmChart
	g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "gated-app"}, &hc)).To(Succeed())
	hc.Labels = shardLabels("detect-drift")
	g.Expect(env.Client.Update(ctx, &hc)).To(Succeed())

	gated := newRelease(ns, "gated", "gated-app", "")
	gated.Labels = shardLabels("detect-drift")
	plain := newRelease(ns, "plain", "app", "")
	for _, hr := range []*helmv2.HelmRelease{gated, plain} {
		g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
		eventuallyReady(t, hr, 90*time.Second)
		var cm corev1.ConfigMap
		key := types.NamespacedName{Namespace: ns, Name: hr.Name + "-config"}
		g.Expect(env.Client.Get(ctx, key, &cm)).To(Succeed())
		cm.Data["message"] = "edited"
		g.Expect(env.Client.Update(ctx, &cm)).To(Succeed())
	}

	requestReconcile(t, gated)
	got := eventuallyCondition(t, gated, helmv2.DriftedCondition, true, helmv2.DriftDetectedReason, 30*time.Second)
	g.Expect(got.Spec.DriftDetection).To(BeNil())

	token := requestReconcile(t, plain)
	g.Eventually(func(g Gomega) {
		cur := getRelease(g, plain)
		g.Expect(cur.Status.LastHandledReconcileAt).To(Equal(token))
		g.Expect(cur.Status.Conditions).NotTo(ContainElement(HaveField("Type", helmv2.DriftedCondition)))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
	var cm corev1.ConfigMap
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "gated-config"}, &cm)).To(Succeed())
	g.Expect(cm.Data["message"]).To(Equal("edited"), "warn mode corrects nothing")
}
