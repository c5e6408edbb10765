package controller

import (
	"github.com/fluxcd/pkg/runtime/events"
	ctrl "sigs.k8s.io/controller-runtime"

	"gotk.dev/pkg/runtime/reconcile"
)

// setupKind registers kind's controller with mgr the one way every source
// kind is run: through the reconcile skeleton (get, patcher, finalizer,
// suspend, the kind's steps, summarized status) and its SetupWithManager,
// which adds the reconcile metrics, o's concurrency and backoff, and the
// extra watches. O is the API type, e.g. setupKind[sourcev1.Bucket].
func setupKind[O any, T interface {
	*O
	reconcile.Object
}](mgr ctrl.Manager, rec events.Recorder, controllerName string, o reconcile.ControllerOptions,
	negative []string, kind reconcile.Kind[T], watches ...reconcile.Watch) error {
	r := &reconcile.Reconciler[T]{
		Client:         mgr.GetClient(),
		Events:         rec,
		ControllerName: controllerName,
		NewObject:      func() T { return new(O) },
		Negative:       negative,
		Kind:           kind,
	}
	return r.SetupWithManager(mgr, o, watches...)
}
