package reconcile

import (
	"context"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metric names every gotk controller exports on its metrics endpoint, the
// names Flux's controllers use, so existing dashboards and alerts work.
const (
	// MetricReconcileDuration is a histogram of reconcile durations,
	// labelled kind, name, namespace.
	MetricReconcileDuration = "gotk_reconcile_duration_seconds"
	// MetricReconcileCondition is a gauge per condition status (1 for the
	// current one), labelled kind, name, namespace, type, status.
	MetricReconcileCondition = "gotk_reconcile_condition"
	// MetricSuspendStatus is a gauge of spec.suspend, labelled kind, name, namespace.
	MetricSuspendStatus = "gotk_suspend_status"
)

// MeasuredConditions are the condition types whose status is exported,
// as Flux's runtime records them (Ready, Reconciling, Stalled).
var MeasuredConditions = [...]string{meta.ReadyCondition, meta.ReconcilingCondition, meta.StalledCondition}

// recorder holds Flux's per-object metrics, registered once with
// controller-runtime's registry, which the manager serves on --metrics-addr.
var recorder = func() *objectMetrics {
	m := newObjectMetrics()
	metrics.Registry.MustRegister(m)
	return m
}()

// measured wraps the skeleton to record, after every reconcile, its
// duration, the suspend flag and the Ready/Reconciling/Stalled statuses;
// a deleted object drops its series.
type measured[T Object] struct {
	inner *Reconciler[T]
	kind  string
}

// Reconcile implements reconcile.Reconciler. Gauges are set from the
// object this reconcile patched, not from a fresh cache read, which may
// still hold the status from before the patch.
func (m *measured[T]) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	start := time.Now()
	res, obj, live, err := m.inner.ReconcileObject(ctx, req)
	key := objectKey{kind: m.kind, namespace: req.Namespace, name: req.Name}
	if !live {
		// A failed finalizer keeps the object, and its series, for the retry.
		if err == nil {
			recorder.forget(key)
		}
		return res, err
	}
	var statuses [len(MeasuredConditions)]metav1.ConditionStatus
	for i, t := range MeasuredConditions {
		// Absent means Unknown, as in Flux (kstatus drops Reconciling
		// and Stalled when they are not True).
		statuses[i] = metav1.ConditionUnknown
		if c := conditions.Get(obj, t); c != nil {
			statuses[i] = c.Status
		}
	}
	recorder.record(key, obj.IsSuspended(), statuses[:], time.Since(start))
	return res, err
}
