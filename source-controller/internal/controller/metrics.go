package controller

import (
	"context"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"gotk.dev/pkg/runtime/reconcile"
)

// Metrics Flux's controllers export, by the same names, so existing
// dashboards work: reconcile duration and the Ready condition per object.
var (
	reconcileDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gotk_reconcile_duration_seconds",
		Help:    "The duration in seconds of a GitOps Toolkit resource reconciliation.",
		Buckets: prometheus.ExponentialBuckets(10e-3, 2, 10),
	}, []string{"kind", "name", "namespace"})
	conditionGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gotk_reconcile_condition",
		Help: "The current condition status of a GitOps Toolkit resource reconciliation.",
	}, []string{"kind", "name", "namespace", "type", "status"})
)

func init() {
	metrics.Registry.MustRegister(reconcileDuration, conditionGauge)
}

// measured wraps a skeleton to record duration and the Ready condition of
// every reconcile; deleted objects drop their series.
type measured[T reconcile.Object] struct {
	inner *reconcile.Reconciler[T]
	kind  string
}

// Reconcile implements reconcile.Reconciler. The Ready gauge is set from
// the object this reconcile patched, not from a fresh cache read, which
// may still hold the status from before the patch.
func (m *measured[T]) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	start := time.Now()
	res, obj, live, err := m.inner.ReconcileObject(ctx, req)
	reconcileDuration.WithLabelValues(m.kind, req.Name, req.Namespace).Observe(time.Since(start).Seconds())
	if !live {
		if err == nil {
			for _, s := range []metav1.ConditionStatus{metav1.ConditionTrue, metav1.ConditionFalse, metav1.ConditionUnknown} {
				conditionGauge.DeleteLabelValues(m.kind, req.Name, req.Namespace, meta.ReadyCondition, string(s))
			}
			reconcileDuration.DeleteLabelValues(m.kind, req.Name, req.Namespace)
		}
		return res, err
	}
	current := metav1.ConditionUnknown
	if c := conditions.Get(obj, meta.ReadyCondition); c != nil {
		current = c.Status
	}
	for _, s := range []metav1.ConditionStatus{metav1.ConditionTrue, metav1.ConditionFalse, metav1.ConditionUnknown} {
		v := 0.0
		if s == current {
			v = 1
		}
		conditionGauge.WithLabelValues(m.kind, req.Name, req.Namespace, meta.ReadyCondition, string(s)).Set(v)
	}
	return res, err
}
