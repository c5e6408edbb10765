package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/artifact"
	"gotk.dev/pkg/artifact/tarball"
	"gotk.dev/pkg/runtime/reconcile"
)

// ociRepositoryNegative are the OCIRepository conditions, in priority
// order, that make Ready False when left True.
var ociRepositoryNegative = []string{sourcev1.StorageOperationFailedCondition, sourcev1.FetchFailedCondition}

// OCIRepositoryOptions configures SetupOCIRepository.
type OCIRepositoryOptions struct {
	// ControllerName is the field owner and event reporter.
	ControllerName string
	// ControllerOptions are the concurrency and retry backoff.
	reconcile.ControllerOptions
	// Limits bound the extracted layer.
	Limits tarball.Limits
	// WorkloadIdentity is the ObjectLevelWorkloadIdentity feature gate:
	// spec.serviceAccountName names the cloud identity of a provider.
	WorkloadIdentity bool
}

// OCIRepositoryReconciler turns OCI artifacts into source artifacts.
type OCIRepositoryReconciler struct {
	// Client reads OCIRepositories and Secrets.
	Client client.Client
	// Events posts NewArtifact events.
	Events events.Recorder
	// Storage holds and serves the artifacts.
	Storage *artifact.Storage
	// Limits bound the extracted layer.
	Limits tarball.Limits
	// WorkloadIdentity is the ObjectLevelWorkloadIdentity feature gate:
	// spec.serviceAccountName names the cloud identity of a provider.
	WorkloadIdentity bool
}

// SetupOCIRepository registers the OCIRepository reconciler with mgr.
func SetupOCIRepository(mgr ctrl.Manager, rec events.Recorder, storage *artifact.Storage, o OCIRepositoryOptions) error {
	kind := &OCIRepositoryReconciler{Client: mgr.GetClient(), Events: rec, Storage: storage, Limits: o.Limits, WorkloadIdentity: o.WorkloadIdentity}
	return setupKind[sourcev1.OCIRepository](mgr, rec, o.ControllerName, o.ControllerOptions, ociRepositoryNegative, kind)
}

// Reconcile runs the OCIRepository steps in order: forget a lost stored
// artifact, read credentials, resolve the reference to a digest, verify
// its signature, pull and store it unless the stored one already has the
// resolved digest, then collect superseded artifacts.
func (r *OCIRepositoryReconciler) Reconcile(ctx context.Context, obj *sourcev1.OCIRepository) (string, string, error) {
	s := &ociScope{obj: obj}
	ctx, cancel := context.WithTimeout(ctx, ociTimeout(obj))
	defer cancel()
	// The steps pass what they observed (repository, digest) in s.
	step := func(name string, run func(context.Context, *ociScope) error) reconcile.Step[*sourcev1.OCIRepository] {
		return reconcile.Step[*sourcev1.OCIRepository]{Name: name, Run: func(ctx context.Context, _ *sourcev1.OCIRepository) error { return run(ctx, s) }}
	}
	err := reconcile.RunSteps(ctx, obj,
		step("storage", r.checkStorage),
		step("connect", r.connect),
		step("resolve", r.resolve),
		step("verify", r.verify),
		step("pull", r.pull),
		step("gc", r.gc),
	)
	if err != nil {
		return "", "", err
	}
	return meta.SucceededReason, fmt.Sprintf("stored artifact for digest '%s'", obj.Status.Artifact.Revision), nil
}

// Finalize removes the object's artifacts from storage.
func (r *OCIRepositoryReconciler) Finalize(_ context.Context, obj *sourcev1.OCIRepository) error {
	return removeArtifacts(r.Storage, obj.Status.Artifact)
}

func ociTimeout(obj *sourcev1.OCIRepository) time.Duration {
	if obj.Spec.Timeout != nil && obj.Spec.Timeout.Duration > 0 {
		return obj.Spec.Timeout.Duration
	}
	return time.Minute
}
