package reconcile

import (
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/jitter"
	ctrl "sigs.k8s.io/controller-runtime"
)

// Generic condition reasons the skeleton sets.
const (
	// ReasonSucceeded is Ready's reason when a kind gives none.
	ReasonSucceeded = meta.SucceededReason
	// ReasonFailed is Ready's reason for an untyped error.
	ReasonFailed = meta.FailedReason
	// ReasonProgressing marks a reconcile in progress.
	ReasonProgressing = meta.ProgressingReason
	// ReasonProgressingWithRetry marks a reconcile that failed and will retry.
	ReasonProgressingWithRetry = meta.ProgressingWithRetryReason
)

// Outcome is what one reconcile observed; Summarize turns it into status.
type Outcome struct {
	// Err is the first failed step's error, nil on success.
	Err error
	// SuccessReason and SuccessMessage are Ready's reason and message on success.
	SuccessReason, SuccessMessage string
	// Negative lists the kind's negative-polarity conditions in priority
	// order; one left True by a step makes Ready False even without an error.
	Negative []string
}

// Summarize derives Ready, Reconciling and Stalled, and observedGeneration,
// from the outcome (the one place that does so) and returns what the
// controller runtime should do next.
func Summarize(obj Object, out Outcome) (ctrl.Result, error) {
	if out.Err == nil {
		conditions.Delete(obj, meta.ReconcilingCondition)
		conditions.Delete(obj, meta.StalledCondition)
		obj.SetObservedGeneration(obj.GetGeneration())
		if neg := firstTrue(obj, out.Negative); neg != "" {
			c := conditions.Get(obj, neg)
			conditions.MarkFalse(obj, meta.ReadyCondition, c.Reason, "%s", c.Message)
		} else {
			reason, msg := out.SuccessReason, out.SuccessMessage
			if reason == "" {
				reason = ReasonSucceeded
			}
			if msg == "" {
				msg = "Reconciliation succeeded"
			}
			conditions.MarkTrue(obj, meta.ReadyCondition, reason, "%s", msg)
		}
		return ctrl.Result{RequeueAfter: jitter.JitteredIntervalDuration(obj.GetRequeueAfter())}, nil
	}

	e := Classify(out.Err, ReasonFailed)
	conditions.MarkFalse(obj, meta.ReadyCondition, e.Reason, "%s", e.Error())
	switch e.Class {
	case Stalling:
		conditions.Delete(obj, meta.ReconcilingCondition)
		conditions.MarkStalled(obj, e.Reason, "%s", e.Error())
		obj.SetObservedGeneration(obj.GetGeneration())
		return ctrl.Result{}, nil
	case Waiting:
		conditions.Delete(obj, meta.StalledCondition)
		conditions.MarkReconciling(obj, ReasonProgressingWithRetry, "%s", e.Error())
		after := e.RequeueAfter
		if after <= 0 {
			after = 30 * time.Second
		}
		return ctrl.Result{RequeueAfter: after}, nil
	default:
		conditions.Delete(obj, meta.StalledCondition)
		conditions.MarkReconciling(obj, ReasonProgressingWithRetry, "%s", e.Error())
		return ctrl.Result{}, e
	}
}

func firstTrue(obj Object, types []string) string {
	for _, t := range types {
		if conditions.IsTrue(obj, t) {
			return t
		}
	}
	return ""
}
