package controller

import (
	"context"
	"fmt"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/events"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	ctrlreconcile "sigs.k8s.io/controller-runtime/pkg/reconcile"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	sourceextv1beta1 "gotk.dev/pkg/apis/sourceextensions/v1beta1"
	"gotk.dev/pkg/artifact"
	"gotk.dev/pkg/runtime/predicates"
	"gotk.dev/pkg/runtime/reconcile"
)

// artifactGeneratorNegative are the ArtifactGenerator's negative conditions:
// it reports failures on Ready only, with Flux's reasons.
var artifactGeneratorNegative = []string{}

// ArtifactGeneratorOptions configures SetupArtifactGenerator.
type ArtifactGeneratorOptions struct {
	// ControllerName is the field owner and event reporter.
	ControllerName string
	// ControllerOptions are the concurrency and retry backoff.
	reconcile.ControllerOptions
	// NoCrossNamespaceRefs refuses sources in other namespaces.
	NoCrossNamespaceRefs bool
	// Fetcher downloads the sources' artifacts (by URL, digest checked).
	Fetcher *artifact.Fetcher
}

// ArtifactGeneratorReconciler composes the artifacts of sources into
// ExternalArtifacts stored and served by this controller's storage.
type ArtifactGeneratorReconciler struct {
	// Client reads sources and writes ExternalArtifacts.
	Client client.Client
	// Events posts NewArtifact events.
	Events events.Recorder
	// Storage holds and serves the generated artifacts.
	Storage *artifact.Storage
	// Fetcher downloads the sources' artifacts.
	Fetcher *artifact.Fetcher
	// NoCrossNamespaceRefs refuses sources in other namespaces.
	NoCrossNamespaceRefs bool
	// ControllerName is the field owner of ExternalArtifact writes.
	ControllerName string
}

// SetupArtifactGenerator registers the ArtifactGenerator reconciler with
// mgr; a new artifact of any referenced source triggers a reconcile.
func SetupArtifactGenerator(mgr ctrl.Manager, rec events.Recorder, storage *artifact.Storage, o ArtifactGeneratorOptions) error {
	if o.Fetcher == nil {
		o.Fetcher = artifact.NewFetcher(3, 60e9, 0)
	}
	r := &ArtifactGeneratorReconciler{Client: mgr.GetClient(), Events: rec, Storage: storage, Fetcher: o.Fetcher,
		NoCrossNamespaceRefs: o.NoCrossNamespaceRefs, ControllerName: o.ControllerName}
	var watches []reconcile.Watch
	for kind, obj := range map[string]client.Object{
		sourcev1.GitRepositoryKind: &sourcev1.GitRepository{}, sourcev1.OCIRepositoryKind: &sourcev1.OCIRepository{},
		sourcev1.BucketKind: &sourcev1.Bucket{}, sourcev1.HelmChartKind: &sourcev1.HelmChart{},
		sourcev1.ExternalArtifactKind: &sourcev1.ExternalArtifact{},
	} {
		watches = append(watches, reconcile.Watches(obj, handler.EnqueueRequestsFromMapFunc(r.generatorsFor(kind)),
			builder.WithPredicates(predicates.SourceRevisionChanged{})))
	}
	return setupKind[sourceextv1beta1.ArtifactGenerator](mgr, rec, o.ControllerName, o.ControllerOptions, artifactGeneratorNegative, r, watches...)
}

// generatorsFor maps a source of kind to the ArtifactGenerators naming it.
func (r *ArtifactGeneratorReconciler) generatorsFor(kind string) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []ctrlreconcile.Request {
		var list sourceextv1beta1.ArtifactGeneratorList
		if err := r.Client.List(ctx, &list); err != nil {
			return nil
		}
		var reqs []ctrlreconcile.Request
		for _, ag := range list.Items {
			for _, s := range ag.Spec.Sources {
				ns := s.Namespace
				if ns == "" {
					ns = ag.Namespace
				}
				if s.Kind == kind && s.Name == obj.GetName() && ns == obj.GetNamespace() {
					reqs = append(reqs, ctrlreconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ag)})
					break
				}
			}
		}
		return reqs
	}
}

// Reconcile runs the ArtifactGenerator steps: check the spec, resolve the
// sources, and unless their artifacts are the ones the inventory was made
// from, fetch them, build and store each output whose content changed,
// write the ExternalArtifacts and remove those no longer declared.
func (r *ArtifactGeneratorReconciler) Reconcile(ctx context.Context, obj *sourceextv1beta1.ArtifactGenerator) (string, string, error) {
	run := &generatorRun{r: r}
	defer run.cleanup()
	err := reconcile.RunSteps(ctx, obj,
		reconcile.Step[*sourceextv1beta1.ArtifactGenerator]{Name: "validate", Run: run.validate},
		reconcile.Step[*sourceextv1beta1.ArtifactGenerator]{Name: "sources", Run: run.resolveSources},
		reconcile.Step[*sourceextv1beta1.ArtifactGenerator]{Name: "fetch", Run: run.fetch},
		reconcile.Step[*sourceextv1beta1.ArtifactGenerator]{Name: "build", Run: run.build},
		reconcile.Step[*sourceextv1beta1.ArtifactGenerator]{Name: "prune", Run: run.prune},
	)
	if err != nil {
		return "", "", err
	}
	return meta.SucceededReason, fmt.Sprintf("reconciliation succeeded, generated %d artifact(s)", len(obj.Status.Inventory)), nil
}

// Finalize deletes the generated ExternalArtifacts and their stored files.
func (r *ArtifactGeneratorReconciler) Finalize(ctx context.Context, obj *sourceextv1beta1.ArtifactGenerator) error {
	for _, ref := range obj.Status.Inventory {
		if err := r.deleteOutput(ctx, ref); err != nil {
			return err
		}
	}
	return nil
}

// deleteOutput removes one generated ExternalArtifact and its storage.
func (r *ArtifactGeneratorReconciler) deleteOutput(ctx context.Context, ref sourceextv1beta1.ExternalArtifactReference) error {
	ea := &sourcev1.ExternalArtifact{}
	ea.Name, ea.Namespace = ref.Name, ref.Namespace
	if err := r.Client.Delete(ctx, ea); err != nil && !apierrors.IsNotFound(err) {
		return reconcile.Retry(meta.ReconciliationFailedReason, "deleting ExternalArtifact '%s/%s': %v", ref.Namespace, ref.Name, err)
	}
	art := meta.Artifact{Path: artifact.ArtifactPath(sourcev1.ExternalArtifactKind, ref.Namespace, ref.Name, ref.Filename)}
	if _, err := r.Storage.RemoveAll(art); err != nil {
		return reconcile.Retry(sourcev1.StorageOperationFailedCondition, "removing artifacts of '%s/%s': %v", ref.Namespace, ref.Name, err)
	}
	return nil
}
