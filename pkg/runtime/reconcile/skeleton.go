package reconcile

import (
	"context"
	"errors"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"gotk.dev/pkg/runtime/redact"
)

// Finalizer is the finalizer every gotk controller puts on its objects.
const Finalizer = "finalizers.fluxcd.io"

// Kind is what a controller supplies to the skeleton for one API kind.
type Kind[T Object] interface {
	// Reconcile runs the kind's ordered steps (see RunSteps) and returns
	// Ready's reason and message for success.
	Reconcile(ctx context.Context, obj T) (reason, message string, err error)
	// Finalize releases what the object holds before its finalizer goes.
	Finalize(ctx context.Context, obj T) error
}

// Reconciler is the one reconcile skeleton: get → patcher → deferred
// summarize-and-patch → delete path → finalizer → suspend → steps.
type Reconciler[T Object] struct {
	// Client reads and patches the objects.
	Client client.Client
	// Events records Kubernetes events and forwards them to --events-addr.
	Events events.EventRecorder
	// ControllerName is the field manager of metadata and status patches.
	ControllerName string
	// NewObject returns an empty object of the kind.
	NewObject func() T
	// Negative lists the kind's negative-polarity conditions (e.g.
	// FetchFailed) in priority order.
	Negative []string
	// Kind is the controller's logic.
	Kind Kind[T]
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler[T]) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	result, _, _, err := r.ReconcileObject(ctx, req)
	return result, err
}

// ReconcileObject is Reconcile that also returns the object as this
// reconcile left it, so wrappers (metrics) need not read a cache that may
// not have seen the final status patch yet. live is false when
// the object is gone or being deleted.
func (r *Reconciler[T]) ReconcileObject(ctx context.Context, req ctrl.Request) (result ctrl.Result, final T, live bool, retErr error) {
	start := time.Now()
	logger := log.FromContext(ctx)
	obj := r.NewObject()
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, obj, false, client.IgnoreNotFound(err)
	}
	patcher, err := newPatcher(r.Client, r.ControllerName, obj)
	if err != nil {
		return ctrl.Result{}, obj, true, err
	}

	if !obj.GetDeletionTimestamp().IsZero() {
		result, err := r.finalize(ctx, obj, patcher)
		return result, obj, false, err
	}
	if obj.IsSuspended() {
		logger.Info("reconciliation is suspended for this object")
		return ctrl.Result{}, obj, true, nil
	}

	wasReady := conditions.IsReady(obj)
	controllerutil.AddFinalizer(obj, Finalizer)
	if r.markProgressing(obj) {
		if err := patcher.Patch(ctx, obj); err != nil {
			if apierrors.IsNotFound(err) {
				return ctrl.Result{}, obj, false, nil
			}
			return ctrl.Result{}, obj, true, err
		}
	}

	reason, message, err := r.Kind.Reconcile(context.WithValue(ctx, wasReadyKey{}, wasReady), obj)
	if token, ok := meta.ReconcileAnnotationValue(obj.GetAnnotations()); ok {
		obj.SetLastHandledReconcileRequest(token)
	}
	result, retErr = Summarize(obj, Outcome{Err: err, SuccessReason: reason, SuccessMessage: message, Negative: r.Negative})
	redactConditions(obj)
	r.emit(obj, err, wasReady)

	live = true
	if perr := patcher.Patch(ctx, obj); apierrors.IsNotFound(perr) {
		live = false
	} else if perr != nil {
		retErr = kerrors.NewAggregate([]error{retErr, perr})
	}
	logger.V(1).Info("reconcile finished", "duration", time.Since(start).String(), "result", result, "error", retErr)
	return result, obj, live, retErr
}

type wasReadyKey struct{}

// WasReady reports, inside a Kind's Reconcile, whether the object was
// Ready when this reconcile read it, before it was marked progressing:
// with observedGeneration equal to the generation it says the last
// reconcile of this generation succeeded.
func WasReady(ctx context.Context) bool {
	ready, _ := ctx.Value(wasReadyKey{}).(bool)
	return ready
}

// RequestPending reports whether obj carries a reconcile request (e.g.
// from a webhook Receiver or `gotk reconcile`) not handled yet: such a
// reconcile must look at the remote afresh, not at a cached answer that
// may predate the push that caused the request.
func RequestPending(obj Object) bool {
	token, requested := meta.ReconcileAnnotationValue(obj.GetAnnotations())
	return requested && token != obj.GetLastHandledReconcileRequest()
}

// markProgressing marks Reconciling/Ready=Unknown when there is new work
// (a new generation or a reconcile request) and reports whether the
// object must be patched before the steps run.
func (r *Reconciler[T]) markProgressing(obj T) bool {
	newRequest := RequestPending(obj)
	newGeneration := obj.GetGeneration() != obj.GetObservedGeneration()
	if !newRequest && !newGeneration {
		return false
	}
	if obj.GetObservedGeneration() <= 0 && len(obj.GetConditions()) == 0 {
		// Never reconciled (some kinds default observedGeneration to
		// -1): there is no stale status to hide, so only the
		// finalizer is written now and the conditions come with the
		// result, in the one status write the API needs (an object
		// waiting in the queue has no status either).
		return true
	}
	msg := "reconciliation in progress"
	if newGeneration {
		msg = "reconciling new object generation"
	}
	conditions.MarkReconciling(obj, ReasonProgressing, "%s", msg)
	conditions.MarkUnknown(obj, meta.ReadyCondition, ReasonProgressing, "%s", msg)
	return true
}

func (r *Reconciler[T]) finalize(ctx context.Context, obj T, patcher *patcher[T]) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(obj, Finalizer) {
		return ctrl.Result{}, nil
	}
	if err := r.Kind.Finalize(ctx, obj); err != nil {
		e := Classify(err, ReasonFailed)
		r.event(obj, corev1.EventTypeWarning, e.Reason, e.Error())
		return ctrl.Result{}, err
	}
	controllerutil.RemoveFinalizer(obj, Finalizer)
	if err := patcher.Patch(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, nil
}

// emit records a warning for every failure and a normal event when the
// object recovers; steps emit their own news (new artifact, applied set).
func (r *Reconciler[T]) emit(obj T, err error, wasReady bool) {
	if err != nil {
		e := Classify(err, ReasonFailed)
		r.event(obj, corev1.EventTypeWarning, e.Reason, e.Error())
		return
	}
	if !wasReady && conditions.IsReady(obj) && obj.GetGeneration() > 1 {
		r.event(obj, corev1.EventTypeNormal, conditions.GetReason(obj, meta.ReadyCondition), conditions.GetMessage(obj, meta.ReadyCondition))
	}
}

func (r *Reconciler[T]) event(obj T, eventType, reason, message string) {
	if r.Events != nil {
		r.Events.Eventf(obj, nil, eventType, reason, "Reconcile", "%s", message)
	}
}

// redactConditions removes credentials in URLs from every condition
// message: steps set their own conditions from client errors.
func redactConditions(obj Object) {
	conds := obj.GetConditions()
	for i := range conds {
		conds[i].Message = redact.String(conds[i].Message)
	}
	obj.SetConditions(conds)
}

// IsStalling reports whether err is a Stalling error.
func IsStalling(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Class == Stalling
}
