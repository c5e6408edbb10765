package reconcile

import (
	"context"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/metrics"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
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
var MeasuredConditions = []string{meta.ReadyCondition, meta.ReconcilingCondition, meta.StalledCondition}

// recorder is Flux's metrics recorder, registered once with
// controller-runtime's registry, which the manager serves on --metrics-addr.
var recorder = metrics.MustMakeRecorder()

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
	ref := corev1.ObjectReference{Kind: m.kind, Namespace: req.Namespace, Name: req.Name}
	if !live {
		// A failed finalizer keeps the object, and its series, for the retry.
		if err == nil {
			forget(ref)
		}
		return res, err
	}
	recorder.RecordDuration(ref, start)
	recorder.RecordSuspend(ref, obj.IsSuspended())
	for _, t := range MeasuredConditions {
		c := conditions.Get(obj, t)
		if c == nil {
			// Absent means Unknown, as in Flux (kstatus drops Reconciling
			// and Stalled when they are not True).
			c = conditions.UnknownCondition(t, "", "")
		}
		recorder.RecordCondition(ref, *c)
	}
	return res, err
}

// forget deletes every series of ref.
func forget(ref corev1.ObjectReference) {
	recorder.DeleteDuration(ref)
	recorder.DeleteSuspend(ref)
	for _, t := range MeasuredConditions {
		recorder.DeleteCondition(ref, t)
	}
}
