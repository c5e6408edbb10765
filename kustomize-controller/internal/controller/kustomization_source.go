package controller

import (
	"context"
	"strings"

	"github.com/fluxcd/pkg/apis/meta"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/runtime/reconcile"
)

// artifactSource is a source kind that publishes an artifact.
type artifactSource interface {
	client.Object
	GetArtifact() *meta.Artifact
}

// source finds the source object and fetches its artifact (once per digest
// across all Kustomizations). It waits while the source or its artifact
// is missing and records the revision attempted.
func (run *kustomizationRun) source(ctx context.Context, obj *kustomizev1.Kustomization) error {
	art, err := run.r.sourceArtifact(ctx, obj)
	if err != nil {
		return err
	}
	run.revision, run.digest = art.Revision, art.Digest
	run.originRevision = art.Metadata["org.opencontainers.image.revision"]
	obj.Status.LastAttemptedRevision = art.Revision
	files, err := run.r.Artifacts.Get(ctx, art.URL, art.Digest)
	if err != nil {
		return reconcile.Retry(kustomizev1.ArtifactFailedReason, "%s", redactURL(err.Error(), art.URL))
	}
	run.files = files
	return nil
}

// sourceArtifact finds the source object and returns its artifact.
func (r *KustomizationReconciler) sourceArtifact(ctx context.Context, obj *kustomizev1.Kustomization) (*meta.Artifact, error) {
	ref := obj.Spec.SourceRef
	ns := sourceNamespace(obj)
	if err := reconcile.CrossNamespaceRef(r.NoCrossNamespaceRefs, obj.Namespace, "spec.sourceRef", ref.Kind, ns, ref.Name); err != nil {
		return nil, err
	}
	var src artifactSource
	switch ref.Kind {
	case sourcev1.GitRepositoryKind:
		src = &sourcev1.GitRepository{}
	case sourcev1.OCIRepositoryKind:
		src = &sourcev1.OCIRepository{}
	case sourcev1.BucketKind:
		src = &sourcev1.Bucket{}
	case sourcev1.ExternalArtifactKind:
		src = &sourcev1.ExternalArtifact{}
	default:
		return nil, reconcile.Stall(kustomizev1.ArtifactFailedReason,
			"source kind %q is not supported: use GitRepository, OCIRepository, Bucket or ExternalArtifact", ref.Kind)
	}
	name := ref.Kind + "/" + ns + "/" + ref.Name
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, src); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, reconcile.Wait(r.RequeueDependency, kustomizev1.ArtifactFailedReason, "%s", r.Shard.NotFound("Source "+name))
		}
		return nil, reconcile.Retry(kustomizev1.ArtifactFailedReason, "reading source %s: %v", name, err)
	}
	art := src.GetArtifact()
	if art == nil || art.URL == "" {
		return nil, reconcile.Wait(r.RequeueDependency, kustomizev1.ArtifactFailedReason, "Source %s is not ready, artifact not found", name)
	}
	return art, nil
}

// redactURL keeps the artifact's path but drops any query from messages.
func redactURL(msg, url string) string {
	if i := strings.IndexByte(url, '?'); i >= 0 {
		return strings.ReplaceAll(msg, url, url[:i])
	}
	return msg
}
