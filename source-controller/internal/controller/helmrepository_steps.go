package controller

import (
	"context"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/source-controller/internal/helm"
)

// helmRepositoryRun is the state one HelmRepository reconcile passes from
// step to step.
type helmRepositoryRun struct {
	r *HelmRepositoryReconciler
	// index is the fetched index; its Path is empty when the served bytes
	// are those of the stored artifact.
	index *helm.Index
	// upToDate is set when the stored artifact already holds the index.
	upToDate bool
}

// cleanup removes the fetched index file.
func (run *helmRepositoryRun) cleanup() {
	if run.index != nil {
		run.index.Remove()
	}
}

// checkStorage forgets a status artifact whose file has gone, so it is
// stored again.
func (run *helmRepositoryRun) checkStorage(_ context.Context, obj *sourcev1.HelmRepository) error {
	forgetLostArtifact(run.r.Storage, &obj.Status.Artifact)
	return nil
}

// fetch downloads the index; the digest of the stored
// index's bytes lets an unchanged index go unread.
func (run *helmRepositoryRun) fetch(ctx context.Context, obj *sourcev1.HelmRepository) error {
	getter, err := run.r.getter(ctx, obj)
	if err != nil {
		return markFetchFailed(obj, err)
	}
	known := ""
	if a := obj.Status.Artifact; a != nil {
		known = a.Metadata[rawDigestKey]
	}
	index, err := helm.FetchIndex(ctx, getter, run.r.IndexMaxSize, known)
	if err != nil {
		if helm.IsAuthError(err) {
			return markFetchFailed(obj, reconcile.Retry(sourcev1.AuthenticationFailedReason, "%v", err))
		}
		return markFetchFailed(obj, reconcile.Retry(sourcev1.IndexationFailedReason, "failed to fetch Helm repository index: %v", err))
	}
	run.index = index
	conditions.Delete(obj, sourcev1.FetchFailedCondition)
	return nil
}

// storeIndex stores the index as a new artifact unless the stored one has
// the same content, and announces a new one.
func (run *helmRepositoryRun) storeIndex(_ context.Context, obj *sourcev1.HelmRepository) error {
	index := run.index
	if index.Path == "" {
		// The served bytes are those of the stored artifact: nothing parsed, nothing stored.
		run.upToDate = true
		conditions.MarkTrue(obj, sourcev1.ArtifactInStorageCondition, sourcev1.ArtifactUpToDateReason,
			"artifact up-to-date with remote revision: '%s'", obj.Status.Artifact.Revision)
		return nil
	}
	revision := "sha256:" + index.Digest
	if a := obj.Status.Artifact; a != nil && a.Revision == revision {
		run.upToDate = true
		a.Metadata = map[string]string{rawDigestKey: index.Raw}
		conditions.MarkTrue(obj, sourcev1.ArtifactInStorageCondition, sourcev1.ArtifactUpToDateReason, "artifact up-to-date with remote revision: '%s'", revision)
		return nil
	}
	art := run.r.Storage.NewArtifactFor(sourcev1.HelmRepositoryKind, obj, revision, "index-"+index.Digest+".yaml")
	if err := run.r.store(obj, &art, index.Path); err != nil {
		return err
	}
	art.Metadata = map[string]string{rawDigestKey: index.Raw}
	obj.Status.Artifact = &art
	conditions.MarkTrue(obj, sourcev1.ArtifactInStorageCondition, meta.SucceededReason, "stored artifact: revision '%s'", revision)
	if run.r.Events != nil {
		run.r.Events.AnnotatedEventf(obj, nil, map[string]string{sourcev1.GroupVersion.Group + "/revision": revision},
			corev1.EventTypeNormal, "NewArtifact", "Fetch", "stored fetched index of size %d from '%s'", index.Size, obj.Spec.URL)
	}
	return nil
}

// gc removes superseded indexes beyond the retention after a new one was
// stored.
func (run *helmRepositoryRun) gc(ctx context.Context, obj *sourcev1.HelmRepository) error {
	if run.upToDate {
		return nil
	}
	return collectGarbage(ctx, run.r.Storage, obj, *obj.Status.Artifact)
}
