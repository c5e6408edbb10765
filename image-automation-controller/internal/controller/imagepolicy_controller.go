package controller

import (
	"context"

	"github.com/fluxcd/pkg/runtime/events"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	ctrlreconcile "sigs.k8s.io/controller-runtime/pkg/reconcile"

	"gotk.dev/image-automation-controller/internal/tagstore"
	imagev1 "gotk.dev/pkg/apis/image/v1"
	"gotk.dev/pkg/runtime/reconcile"
)

// imageRepositoryRefIndex indexes ImagePolicies by "<namespace>/<name>" of
// the ImageRepository they read.
const imageRepositoryRefIndex = ".spec.imageRepositoryRef"

// ImagePolicyReconciler chooses the latest image of each ImagePolicy from
// the stored tags of its ImageRepository.
type ImagePolicyReconciler struct {
	// Client reads objects and Secrets.
	Client client.Client
	// Events records the chosen image when it changes.
	Events events.Recorder
	// Shard names this controller's --watch-label-selector in reference
	// messages (zero: not sharded).
	Shard reconcile.Shard
	// Store holds the tag lists written by the ImageRepository reconciler.
	Store *tagstore.Store
	// ControllerName is the field owner of status patches.
	ControllerName string
	// NoCrossNamespaceRefs refuses a sourceRef to another namespace
	// (--no-cross-namespace-refs).
	NoCrossNamespaceRefs bool
	// WorkloadIdentity is the ObjectLevelWorkloadIdentity feature gate:
	// with a cloud provider, spec.serviceAccountName of an ImageRepository
	// names its cloud identity.
	WorkloadIdentity bool
}

// SetupWithManager registers the reconciler. Policies are re-evaluated on
// their own spec changes and reconcile requests, and whenever their
// ImageRepository's tag list, canonical name or spec changes.
func (r *ImagePolicyReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts reconcile.ControllerOptions) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &imagev1.ImagePolicy{}, imageRepositoryRefIndex, func(o client.Object) []string {
		p := o.(*imagev1.ImagePolicy)
		return []string{policyRepositoryKey(p).String()}
	}); err != nil {
		return err
	}
	return r.skeleton().SetupWithManager(mgr, opts,
		reconcile.Watches(&imagev1.ImageRepository{},
			handler.EnqueueRequestsFromMapFunc(r.policiesOfRepository),
			builder.WithPredicates(repositoryChanged{})))
}

func (r *ImagePolicyReconciler) skeleton() *reconcile.Reconciler[*imagev1.ImagePolicy] {
	return &reconcile.Reconciler[*imagev1.ImagePolicy]{
		Client:         r.Client,
		Events:         r.Events,
		ControllerName: r.ControllerName,
		NewObject:      func() *imagev1.ImagePolicy { return &imagev1.ImagePolicy{} },
		Kind:           r,
	}
}

func (r *ImagePolicyReconciler) policiesOfRepository(ctx context.Context, o client.Object) []ctrlreconcile.Request {
	var list imagev1.ImagePolicyList
	key := types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}.String()
	if err := r.Client.List(ctx, &list, client.MatchingFields{imageRepositoryRefIndex: key}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing the ImagePolicies of an ImageRepository", "imagerepository", key)
		return nil
	}
	reqs := make([]ctrlreconcile.Request, 0, len(list.Items))
	for _, p := range list.Items {
		reqs = append(reqs, ctrlreconcile.Request{NamespacedName: types.NamespacedName{Namespace: p.Namespace, Name: p.Name}})
	}
	return reqs
}

// repositoryChanged passes ImageRepository events that can change a
// policy's outcome: a new tag list, a new canonical name, a spec change
// (accessFrom) or the repository appearing or going away. Rescans that
// find the same tags pass nothing.
type repositoryChanged struct{ predicate.Funcs }

// Update compares what policies read from the repository.
func (repositoryChanged) Update(e event.UpdateEvent) bool {
	oldRepo, ok1 := e.ObjectOld.(*imagev1.ImageRepository)
	newRepo, ok2 := e.ObjectNew.(*imagev1.ImageRepository)
	if !ok1 || !ok2 {
		return false
	}
	return scanRevision(oldRepo) != scanRevision(newRepo) ||
		oldRepo.Status.CanonicalImageName != newRepo.Status.CanonicalImageName ||
		oldRepo.Generation != newRepo.Generation
}

// Create passes so a policy created before its repository proceeds.
func (repositoryChanged) Create(event.CreateEvent) bool { return true }

// Delete passes so policies report the missing repository.
func (repositoryChanged) Delete(event.DeleteEvent) bool { return true }

func scanRevision(r *imagev1.ImageRepository) string {
	if r.Status.LastScanResult == nil {
		return ""
	}
	return r.Status.LastScanResult.Revision
}

// policyRepositoryKey returns the ImageRepository a policy reads; an empty
// namespace means the policy's own.
func policyRepositoryKey(p *imagev1.ImagePolicy) types.NamespacedName {
	ns := p.Spec.ImageRepositoryRef.Namespace
	if ns == "" {
		ns = p.Namespace
	}
	return types.NamespacedName{Namespace: ns, Name: p.Spec.ImageRepositoryRef.Name}
}

// Reconcile runs the steps of one ImagePolicy: compile the rule, resolve
// the repository (and its access list), choose the tag, reflect the digest
// and record the result.
func (r *ImagePolicyReconciler) Reconcile(ctx context.Context, obj *imagev1.ImagePolicy) (string, string, error) {
	run := &policyRun{r: r}
	err := reconcile.RunSteps(ctx, obj,
		reconcile.Step[*imagev1.ImagePolicy]{Name: "compile", Run: run.compile},
		reconcile.Step[*imagev1.ImagePolicy]{Name: "repository", Run: run.repository},
		reconcile.Step[*imagev1.ImagePolicy]{Name: "select", Run: run.selectTag},
		reconcile.Step[*imagev1.ImagePolicy]{Name: "digest", Run: run.reflectDigest},
		reconcile.Step[*imagev1.ImagePolicy]{Name: "record", Run: run.record},
	)
	if err != nil {
		return "", "", err
	}
	return run.readyReason, run.readyMessage, nil
}

// Finalize has nothing to release: a policy holds no external state.
func (r *ImagePolicyReconciler) Finalize(context.Context, *imagev1.ImagePolicy) error { return nil }
