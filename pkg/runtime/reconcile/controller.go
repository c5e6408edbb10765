package reconcile

import (
	"fmt"
	"strings"

	fluxcontroller "github.com/fluxcd/pkg/runtime/controller"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	ctrlreconcile "sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"gotk.dev/pkg/runtime/predicates"
)

// ControllerOptions are the settings every reconciler takes from the
// shared flags (--concurrent, --min-retry-delay, --max-retry-delay).
type ControllerOptions struct {
	// Concurrent is the number of parallel reconciles (at least 1).
	Concurrent int
	// RateLimiter spaces the retries of failed reconciles; the zero
	// value means Flux's defaults (750ms doubling up to 15m).
	RateLimiter fluxcontroller.RateLimiterOptions
}

// Watch adds a secondary watch to the controller SetupWithManager builds.
type Watch func(*builder.Builder) *builder.Builder

// Watches enqueues what h maps events of obj to (builder.Watches).
func Watches(obj client.Object, h handler.EventHandler, opts ...builder.WatchesOption) Watch {
	return func(b *builder.Builder) *builder.Builder { return b.Watches(obj, h, opts...) }
}

// WatchesMetadata is Watches on metadata only (builder.WatchesMetadata),
// so the cache holds no object content.
func WatchesMetadata(obj client.Object, h handler.EventHandler, opts ...builder.WatchesOption) Watch {
	return func(b *builder.Builder) *builder.Builder { return b.WatchesMetadata(obj, h, opts...) }
}

// WatchesRawSource enqueues the requests of src (builder.WatchesRawSource).
func WatchesRawSource(src source.Source) Watch {
	return func(b *builder.Builder) *builder.Builder { return b.WatchesRawSource(src) }
}

// SetupWithManager registers the kind's controller with mgr, the one way
// every gotk controller does: the kind watched on a new generation or a
// reconcile request, the extra watches, o's concurrency and retry
// backoff, and Flux's reconcile metrics around every reconcile. The
// controller is named after the kind in lower case.
func (r *Reconciler[T]) SetupWithManager(mgr ctrl.Manager, o ControllerOptions, watches ...Watch) error {
	obj := r.NewObject()
	gvk, err := apiutil.GVKForObject(obj, mgr.GetScheme())
	if err != nil {
		return fmt.Errorf("registering a controller: %w", err)
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named(strings.ToLower(gvk.Kind)).
		For(obj, builder.WithPredicates(predicates.GenerationOrRequest()))
	for _, w := range watches {
		b = w(b)
	}
	return b.WithOptions(o.controllerOptions()).
		Complete(&measured[T]{inner: r, kind: gvk.Kind})
}

// controllerOptions maps o to controller-runtime's options.
func (o ControllerOptions) controllerOptions() controller.Options {
	return controller.Options{MaxConcurrentReconciles: max(o.Concurrent, 1), RateLimiter: o.rateLimiter()}
}

// rateLimiter is the exponential per-object failure backoff of Flux's
// runtime: the first retry after MinRetryDelay, doubling up to MaxRetryDelay.
func (o ControllerOptions) rateLimiter() workqueue.TypedRateLimiter[ctrlreconcile.Request] {
	if o.RateLimiter == (fluxcontroller.RateLimiterOptions{}) {
		return fluxcontroller.GetDefaultRateLimiter()
	}
	return fluxcontroller.GetRateLimiter(o.RateLimiter)
}
