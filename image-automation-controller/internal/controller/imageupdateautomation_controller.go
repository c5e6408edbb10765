package controller

import (
	"context"
	"net/http"

	"github.com/fluxcd/pkg/runtime/events"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	ctrlreconcile "sigs.k8s.io/controller-runtime/pkg/reconcile"

	imagev1 "gotk.dev/pkg/apis/image/v1"
	"gotk.dev/pkg/runtime/reconcile"
)

// ImageUpdateAutomationReconciler clones a GitRepository's repository,
// rewrites the image setter markers to the policies' latest images,
// commits and pushes.
type ImageUpdateAutomationReconciler struct {
	// Client reads objects and Secrets.
	Client client.Client
	// AllShards lists ImagePolicies in every shard (nil: Client): an
	// automation applies its namespace's policies whatever their shard.
	AllShards client.Reader
	// Shard names this controller's --watch-label-selector in reference
	// messages (zero: not sharded).
	Shard reconcile.Shard
	// Events records pushed commits and failures.
	Events events.Recorder
	// ControllerName is the field owner of status patches.
	ControllerName string
	// NoCrossNamespaceRefs refuses a sourceRef to another namespace
	// (--no-cross-namespace-refs).
	NoCrossNamespaceRefs bool
	// MaxPushAttempts bounds the re-apply-and-push rounds after the
	// branch moved under us; DefaultMaxPushAttempts when zero.
	MaxPushAttempts int
	// WorkloadIdentity is the ObjectLevelWorkloadIdentity feature gate: a
	// GitRepository of provider azure with spec.serviceAccountName.
	WorkloadIdentity bool
	// CloudHTTPClient, when set, carries provider azure's token requests.
	CloudHTTPClient *http.Client

	// beforePush runs between commit and push of each attempt; tests use
	// it to move the branch concurrently.
	beforePush func(attempt int)
}

// SetupWithManager registers the reconciler: automations run on spec
// changes, reconcile requests, their interval, and whenever an ImagePolicy
// of their namespace chooses a new image.
func (r *ImageUpdateAutomationReconciler) SetupWithManager(mgr ctrl.Manager, opts reconcile.ControllerOptions) error {
	return r.skeleton().SetupWithManager(mgr, opts,
		reconcile.Watches(&imagev1.ImagePolicy{},
			handler.EnqueueRequestsFromMapFunc(r.automationsOfPolicy),
			builder.WithPredicates(latestRefChanged{})))
}

func (r *ImageUpdateAutomationReconciler) skeleton() *reconcile.Reconciler[*imagev1.ImageUpdateAutomation] {
	return &reconcile.Reconciler[*imagev1.ImageUpdateAutomation]{
		Client:         r.Client,
		Events:         r.Events,
		ControllerName: r.ControllerName,
		NewObject:      func() *imagev1.ImageUpdateAutomation { return &imagev1.ImageUpdateAutomation{} },
		Kind:           r,
	}
}

func (r *ImageUpdateAutomationReconciler) automationsOfPolicy(ctx context.Context, o client.Object) []ctrlreconcile.Request {
	var list imagev1.ImageUpdateAutomationList
	if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace())); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing the ImageUpdateAutomations of a namespace", "namespace", o.GetNamespace())
		return nil
	}
	reqs := make([]ctrlreconcile.Request, 0, len(list.Items))
	for _, a := range list.Items {
		reqs = append(reqs, ctrlreconcile.Request{NamespacedName: types.NamespacedName{Namespace: a.Namespace, Name: a.Name}})
	}
	return reqs
}

// latestRefChanged passes ImagePolicy updates that change the chosen image.
type latestRefChanged struct{ predicate.Funcs }

// Update compares the chosen images.
func (latestRefChanged) Update(e event.UpdateEvent) bool {
	oldP, ok1 := e.ObjectOld.(*imagev1.ImagePolicy)
	newP, ok2 := e.ObjectNew.(*imagev1.ImagePolicy)
	if !ok1 || !ok2 || newP.Status.LatestRef == nil {
		return false
	}
	return oldP.Status.LatestRef == nil || *oldP.Status.LatestRef != *newP.Status.LatestRef
}

// Create does not pass: a new policy has no image yet.
func (latestRefChanged) Create(event.CreateEvent) bool { return false }

// Delete does not pass: markers of a deleted policy are left alone.
func (latestRefChanged) Delete(event.DeleteEvent) bool { return false }

// Generic does not pass.
func (latestRefChanged) Generic(event.GenericEvent) bool { return false }

// Reconcile runs the steps of one automation: validate the spec, resolve
// the Git source and its credentials, collect the policies, then update,
// commit and push.
func (r *ImageUpdateAutomationReconciler) Reconcile(ctx context.Context, obj *imagev1.ImageUpdateAutomation) (string, string, error) {
	run := &automationRun{r: r}
	err := reconcile.RunSteps(ctx, obj,
		reconcile.Step[*imagev1.ImageUpdateAutomation]{Name: "validate", Run: run.validate},
		reconcile.Step[*imagev1.ImageUpdateAutomation]{Name: "source", Run: run.source},
		reconcile.Step[*imagev1.ImageUpdateAutomation]{Name: "policies", Run: run.collectPolicies},
		reconcile.Step[*imagev1.ImageUpdateAutomation]{Name: "update", Run: run.update},
	)
	if err != nil {
		return "", "", err
	}
	return run.readyReason, run.readyMessage, nil
}

// Finalize has nothing to release: each run works in a temporary clone.
func (r *ImageUpdateAutomationReconciler) Finalize(context.Context, *imagev1.ImageUpdateAutomation) error {
	return nil
}
