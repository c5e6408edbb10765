// Package controller holds the reconcilers of ImageRepository and
// ImagePolicy, run on gotk's shared reconcile skeleton.
package controller

import (
	"context"
	"time"

	"github.com/fluxcd/pkg/runtime/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/image-automation-controller/internal/tagstore"
	imagev1 "gotk.dev/pkg/apis/image/v1"
	"gotk.dev/pkg/runtime/reconcile"
)

// ImageRepositoryReconciler scans image repositories for tags and keeps
// them in the tag store.
type ImageRepositoryReconciler struct {
	// Client reads objects and Secrets.
	Client client.Client
	// Events records news (a changed tag list) and failures.
	Events events.Recorder
	// Store keeps the tag lists on disk.
	Store *tagstore.Store
	// ControllerName is the field owner of status patches.
	ControllerName string
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// WorkloadIdentity is the ObjectLevelWorkloadIdentity feature gate:
	// with a cloud provider, spec.serviceAccountName of an ImageRepository
	// names its cloud identity.
	WorkloadIdentity bool
}

// SetupWithManager registers the reconciler: ImageRepositories are
// reconciled on spec changes, reconcile requests and their interval.
func (r *ImageRepositoryReconciler) SetupWithManager(mgr ctrl.Manager, opts reconcile.ControllerOptions) error {
	return r.skeleton().SetupWithManager(mgr, opts)
}

func (r *ImageRepositoryReconciler) skeleton() *reconcile.Reconciler[*imagev1.ImageRepository] {
	return &reconcile.Reconciler[*imagev1.ImageRepository]{
		Client:         r.Client,
		Events:         r.Events,
		ControllerName: r.ControllerName,
		NewObject:      func() *imagev1.ImageRepository { return &imagev1.ImageRepository{} },
		Kind:           r,
	}
}

// Reconcile runs the steps of one ImageRepository: validate the spec,
// decide whether a scan is due, then scan and store the tags.
func (r *ImageRepositoryReconciler) Reconcile(ctx context.Context, obj *imagev1.ImageRepository) (string, string, error) {
	run := &repositoryRun{r: r}
	err := reconcile.RunSteps(ctx, obj,
		reconcile.Step[*imagev1.ImageRepository]{Name: "validate", Run: run.validate},
		reconcile.Step[*imagev1.ImageRepository]{Name: "scan", Run: run.scan},
	)
	if err != nil {
		return "", "", err
	}
	return run.readyReason, run.readyMessage, nil
}

// Finalize forgets the stored tags of a deleted repository.
func (r *ImageRepositoryReconciler) Finalize(_ context.Context, obj *imagev1.ImageRepository) error {
	if err := r.Store.Delete(obj.Namespace, obj.Name); err != nil {
		return reconcile.Retry(StorageOperationFailedReason, "%s", err)
	}
	return nil
}

func (r *ImageRepositoryReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
