package reconcile

import (
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Object is what every reconciled gotk kind implements so the one skeleton
// can run it: conditions, the interval, the handled reconcile request,
// observed generation and suspension.
type Object interface {
	client.Object
	meta.ObjectWithConditions
	meta.ObjectWithConditionsSetter
	meta.StatusWithHandledReconcileRequest
	meta.StatusWithHandledReconcileRequestSetter
	// GetRequeueAfter is the interval between successful reconciles.
	GetRequeueAfter() time.Duration
	// GetObservedGeneration returns status.observedGeneration.
	GetObservedGeneration() int64
	// SetObservedGeneration sets status.observedGeneration.
	SetObservedGeneration(int64)
	// IsSuspended reports spec.suspend.
	IsSuspended() bool
}
