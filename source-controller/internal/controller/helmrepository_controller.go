package controller

import (
	"context"
	"fmt"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/artifact"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/source-controller/internal/helm"
)

var (
	helmRepositoryNegative = []string{sourcev1.StorageOperationFailedCondition, sourcev1.FetchFailedCondition}
)

// rawDigestKey records, in the artifact's metadata, the digest of the index
// bytes as served, so an unchanged index is not parsed again.
const rawDigestKey = "source.toolkit.fluxcd.io/raw-index-digest"

// DefaultHelmIndexMaxSize is --helm-index-max-size's default (50 MiB).
const DefaultHelmIndexMaxSize = 50 << 20

// HelmRepositoryOptions configures SetupHelmRepository.
type HelmRepositoryOptions struct {
	// ControllerName is the field owner and event reporter.
	ControllerName string
	// ControllerOptions are the concurrency and retry backoff.
	reconcile.ControllerOptions
	// IndexMaxSize refuses larger index files.
	IndexMaxSize int64
}

// HelmRepositoryReconciler stores a normalised copy of a Helm repository's
// index as the artifact HelmCharts read.
type HelmRepositoryReconciler struct {
	// Client reads HelmRepositories and Secrets.
	Client client.Client
	// Events posts NewArtifact events.
	Events events.Recorder
	// Storage holds and serves the artifacts.
	Storage *artifact.Storage
	// IndexMaxSize refuses larger index files.
	IndexMaxSize int64
}

// SetupHelmRepository registers the HelmRepository reconciler with mgr.
func SetupHelmRepository(mgr ctrl.Manager, rec events.Recorder, storage *artifact.Storage, o HelmRepositoryOptions) error {
	if o.IndexMaxSize <= 0 {
		o.IndexMaxSize = DefaultHelmIndexMaxSize
	}
	kind := &HelmRepositoryReconciler{Client: mgr.GetClient(), Events: rec, Storage: storage, IndexMaxSize: o.IndexMaxSize}
	return setupKind[sourcev1.HelmRepository](mgr, rec, o.ControllerName, o.ControllerOptions, helmRepositoryNegative, kind)
}

// Reconcile runs the HelmRepository steps in order: forget a lost stored
// artifact, fetch the index (skipped when the served bytes are those
// stored), store it when its content changed, then collect superseded
// artifacts. An OCI HelmRepository has nothing to fetch.
func (r *HelmRepositoryReconciler) Reconcile(ctx context.Context, obj *sourcev1.HelmRepository) (string, string, error) {
	if obj.Spec.Type == "oci" {
		// As Flux: an OCI HelmRepository is static, it only carries
		// credentials for HelmReleases; nothing to fetch or store.
		obj.Status.Artifact, obj.Status.URL = nil, ""
		return meta.SucceededReason, "Helm repository of type oci is static: it only provides credentials", nil
	}
	// One spec.timeout for everything the steps fetch and collect.
	ctx, cancel := context.WithTimeout(ctx, obj.GetTimeout())
	defer cancel()
	run := &helmRepositoryRun{r: r}
	defer run.cleanup()
	err := reconcile.RunSteps(ctx, obj,
		reconcile.Step[*sourcev1.HelmRepository]{Name: "storage", Run: run.checkStorage},
		reconcile.Step[*sourcev1.HelmRepository]{Name: "fetch", Run: run.fetch},
		reconcile.Step[*sourcev1.HelmRepository]{Name: "artifact", Run: run.storeIndex},
		reconcile.Step[*sourcev1.HelmRepository]{Name: "gc", Run: run.gc},
	)
	if err != nil {
		return "", "", err
	}
	return meta.SucceededReason, fmt.Sprintf("stored artifact: revision '%s'", obj.Status.Artifact.Revision), nil
}

func (r *HelmRepositoryReconciler) store(obj *sourcev1.HelmRepository, art *meta.Artifact, indexPath string) error {
	unlock, err := r.Storage.Lock(*art)
	if err != nil {
		return reconcile.Retry(sourcev1.AcquireLockFailedReason, "%v", err)
	}
	defer unlock()
	if err := r.Storage.MkdirAllFor(*art); err != nil {
		return markStorageFailed(obj, sourcev1.DirCreationFailedReason, err)
	}
	if err := r.Storage.CopyFromPath(art, indexPath); err != nil {
		return markStorageFailed(obj, sourcev1.ArchiveOperationFailedReason, err)
	}
	url, err := r.Storage.Symlink(*art, "index.yaml")
	if err != nil {
		return markStorageFailed(obj, sourcev1.SymlinkUpdateFailedReason, err)
	}
	obj.Status.URL = url
	conditions.Delete(obj, sourcev1.StorageOperationFailedCondition)
	return nil
}

// getter reads the repository's credentials and TLS settings.
func (r *HelmRepositoryReconciler) getter(ctx context.Context, obj *sourcev1.HelmRepository) (*helm.Getter, error) {
	return helmGetter(ctx, r.Client, obj)
}

// helmGetter builds the HTTP getter of a HelmRepository (shared with HelmChart).
func helmGetter(ctx context.Context, c client.Client, obj *sourcev1.HelmRepository) (*helm.Getter, error) {
	g := &helm.Getter{RepoURL: obj.Spec.URL, PassCredentials: obj.Spec.PassCredentials, Timeout: obj.GetTimeout()}
	if ref := obj.Spec.SecretRef; ref != nil {
		data, err := readSecret(ctx, c, obj.Namespace, ref.Name)
		if err != nil {
			return nil, err
		}
		g.Username, g.Password = string(data["username"]), string(data["password"])
	}
	if ref := obj.Spec.CertSecretRef; ref != nil {
		cfg, err := tlsFromSecret(ctx, c, obj.Namespace, ref.Name)
		if err != nil {
			return nil, err
		}
		g.TLS = cfg
	}
	return g, nil
}

// Finalize removes the stored indexes.
func (r *HelmRepositoryReconciler) Finalize(_ context.Context, obj *sourcev1.HelmRepository) error {
	return removeArtifacts(r.Storage, obj.Status.Artifact)
}
