// Package metricstest reads the reconcile metrics every gotk controller
// exports from controller-runtime's registry, and runs a controller in a
// manager of its own beside a test package's shared one, for controller
// tests. It is never linked into a binary.
package metricstest

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"gotk.dev/pkg/runtime/reconcile"
)

// ShardLabel marks the objects a shard manager (ShardManager) reconciles;
// a package's shared manager leaves them alone with ExcludeShards, so one
// controller only ever handles each object.
const ShardLabel = "test.gotk.dev/shard"

// ExcludeShards is the label selector of a test package's shared manager.
func ExcludeShards() labels.Selector {
	sel, err := labels.Parse("!" + ShardLabel)
	if err != nil {
		panic(err) // a constant selector
	}
	return sel
}

// StartShard runs the controllers setup registers in a manager of its own
// that sees only objects labelled ShardLabel=shard, until the test ends.
// Its controllers may reuse the names of the shared manager's ones, so a
// test can register a controller again with other options (e.g. a slower
// retry backoff).
func StartShard(t testing.TB, cfg *rest.Config, scheme *runtime.Scheme, shard string, setup func(ctrl.Manager) error) {
	t.Helper()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:     scheme,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Cache:      cache.Options{DefaultLabelSelector: labels.SelectorFromSet(labels.Set{ShardLabel: shard})},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatalf("shard manager: %v", err)
	}
	if err := setup(mgr); err != nil {
		t.Fatalf("shard controllers: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	// Stop before the control plane does, or kube-apiserver waits on the watches.
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shard manager: %v", err)
		}
	})
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		t.Fatal("shard manager: cache did not sync")
	}
}

// Series returns the samples of the metric family name whose labels
// include want, gathered from controller-runtime's registry (what the
// manager serves on --metrics-addr).
func Series(name string, want map[string]string) ([]*dto.Metric, error) {
	families, err := metrics.Registry.Gather()
	if err != nil {
		return nil, err
	}
	var out []*dto.Metric
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if hasLabels(m, want) {
				out = append(out, m)
			}
		}
	}
	return out, nil
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, l := range m.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func object(kind, namespace, name string) map[string]string {
	return map[string]string{"kind": kind, "namespace": namespace, "name": name}
}

// Reconciles is how many reconciles of the object the duration histogram
// counted.
func Reconciles(kind, namespace, name string) (uint64, error) {
	ms, err := Series(reconcile.MetricReconcileDuration, object(kind, namespace, name))
	if err != nil || len(ms) == 0 {
		return 0, err
	}
	return ms[0].GetHistogram().GetSampleCount(), nil
}

// Condition returns the status whose gotk_reconcile_condition sample of
// type typ is 1, or "" when the object has none.
func Condition(kind, namespace, name, typ string) (string, error) {
	want := object(kind, namespace, name)
	want["type"] = typ
	ms, err := Series(reconcile.MetricReconcileCondition, want)
	if err != nil {
		return "", err
	}
	for _, m := range ms {
		if m.GetGauge().GetValue() == 1 {
			for _, l := range m.GetLabel() {
				if l.GetName() == "status" {
					return l.GetValue(), nil
				}
			}
		}
	}
	return "", nil
}

// ExpectMeasured waits until the object has every reconcile metric: a
// duration sample, the suspend gauge at suspended, and condition gauges
// for Ready (at ready), Reconciling and Stalled.
func ExpectMeasured(g Gomega, kind, namespace, name string, ready metav1.ConditionStatus, suspended bool) {
	g.Eventually(func(g Gomega) {
		n, err := Reconciles(kind, namespace, name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(n).To(BeNumerically(">", 0), "%s samples of %s %s/%s", reconcile.MetricReconcileDuration, kind, namespace, name)

		s, err := Series(reconcile.MetricSuspendStatus, object(kind, namespace, name))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(s).To(HaveLen(1), "%s of %s %s/%s", reconcile.MetricSuspendStatus, kind, namespace, name)
		g.Expect(s[0].GetGauge().GetValue() == 1).To(Equal(suspended), reconcile.MetricSuspendStatus)

		for _, typ := range reconcile.MeasuredConditions {
			status, err := Condition(kind, namespace, name, typ)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(status).NotTo(BeEmpty(), "%s{type=%q} of %s %s/%s", reconcile.MetricReconcileCondition, typ, kind, namespace, name)
		}
		status, err := Condition(kind, namespace, name, "Ready")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(status).To(Equal(string(ready)), "Ready gauge of %s %s/%s", kind, namespace, name)
	}, 30*time.Second, 50*time.Millisecond).Should(Succeed())
}

// ExpectForgotten waits until no reconcile metric names the object (it
// was deleted).
func ExpectForgotten(g Gomega, kind, namespace, name string) {
	g.Eventually(func(g Gomega) {
		for _, m := range []string{reconcile.MetricReconcileDuration, reconcile.MetricReconcileCondition, reconcile.MetricSuspendStatus} {
			s, err := Series(m, object(kind, namespace, name))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(s).To(BeEmpty(), "%s of deleted %s %s/%s", m, kind, namespace, name)
		}
	}, 30*time.Second, 50*time.Millisecond).Should(Succeed())
}

// ExpectBackoff watches the reconciles of an object that keeps failing
// with a transient error under a controller whose --min-retry-delay is
// minDelay: the first retry comes no sooner than minDelay after the first
// reconcile, and the next (after twice minDelay) not before 1.5×minDelay
// has passed, so at most two reconciles happen in that window.
func ExpectBackoff(g Gomega, kind, namespace, name string, minDelay time.Duration) {
	count := func() uint64 {
		n, err := Reconciles(kind, namespace, name)
		g.Expect(err).NotTo(HaveOccurred())
		return n
	}
	const poll = 10 * time.Millisecond
	g.Eventually(count, 30*time.Second, poll).Should(BeNumerically(">=", 1), "first reconcile of %s %s/%s", kind, namespace, name)
	first := time.Now()
	g.Expect(count()).To(Equal(uint64(1)), "reconciles of %s %s/%s right after the first", kind, namespace, name)
	g.Eventually(count, minDelay*3+10*time.Second, poll).Should(BeNumerically(">=", 2), "first retry of %s %s/%s", kind, namespace, name)
	gap := time.Since(first)
	// The first sample may have been seen up to a poll late.
	g.Expect(gap).To(BeNumerically(">=", minDelay-10*poll), fmt.Sprintf("first retry after %s, min-retry-delay %s", gap, minDelay))
	window := time.Until(first.Add(minDelay * 3 / 2))
	if window > 0 {
		g.Consistently(count, window, poll).Should(BeNumerically("<=", 2), "reconciles within %s of the first", minDelay*3/2)
	}
}
