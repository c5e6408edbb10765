package controller

import (
	"context"
	"os"
	"strings"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/source-controller/internal/bucket"
)

// bucketRun is the state one Bucket reconcile passes from step to step.
type bucketRun struct {
	r       *BucketReconciler
	client  *bucket.Client
	objects []bucket.Object
	// revision is the digest of the object index.
	revision string
	// upToDate is set when the stored artifact has this revision.
	upToDate bool
	// dir holds the downloaded objects.
	dir string
}

// cleanup closes the bucket client and removes the downloaded objects.
func (run *bucketRun) cleanup() {
	if run.client != nil {
		_ = run.client.Close()
	}
	if run.dir != "" {
		_ = os.RemoveAll(run.dir)
	}
}

// checkStorage forgets a status artifact whose file has gone, so it is
// stored again.
func (run *bucketRun) checkStorage(_ context.Context, obj *sourcev1.Bucket) error {
	forgetLostArtifact(run.r.Storage, &obj.Status.Artifact)
	return nil
}

// connect builds the bucket client from the spec and its Secrets.
func (run *bucketRun) connect(ctx context.Context, obj *sourcev1.Bucket) error {
	c, err := run.r.client(ctx, obj)
	if err != nil {
		return markFetchFailed(obj, err)
	}
	run.client = c
	return nil
}

// list reads the keys and ETags under the prefix, minus the ignored ones,
// ; an unchanged index with unchanged ignore rules
// leaves the stored artifact as it is.
func (run *bucketRun) list(ctx context.Context, obj *sourcev1.Bucket) error {
	objects, err := run.client.List(ctx, obj.Spec.Prefix, ignoreMatcher(obj.Spec.Ignore))
	if err != nil {
		return markFetchFailed(obj, run.r.bucketError(obj, err))
	}
	run.objects = objects
	run.revision = "sha256:" + bucket.Digest(objects)
	if a := obj.Status.Artifact; a != nil && a.Revision == run.revision && ptrEqual(obj.Spec.Ignore, obj.Status.ObservedIgnore) {
		run.upToDate = true
		conditions.Delete(obj, sourcev1.FetchFailedCondition)
		conditions.MarkTrue(obj, sourcev1.ArtifactInStorageCondition, sourcev1.ArtifactUpToDateReason, "artifact up-to-date with remote revision: '%s'", run.revision)
	}
	return nil
}

// download fetches the listed objects into a temporary directory, at most
// --bucket-max-size bytes.
func (run *bucketRun) download(ctx context.Context, obj *sourcev1.Bucket) error {
	if run.upToDate {
		return nil
	}
	dir, err := os.MkdirTemp("", "bucket-")
	if err != nil {
		return markStorageFailed(obj, sourcev1.DirCreationFailedReason, err)
	}
	run.dir = dir
	if err := run.client.Download(ctx, run.objects, dir, run.r.MaxSize); err != nil {
		return markFetchFailed(obj, run.r.bucketError(obj, err))
	}
	conditions.Delete(obj, sourcev1.FetchFailedCondition)
	return nil
}

// storeArtifact archives the downloaded objects as the new artifact and
// announces it.
func (run *bucketRun) storeArtifact(_ context.Context, obj *sourcev1.Bucket) error {
	if run.upToDate {
		return nil
	}
	revision := run.revision
	art := run.r.Storage.NewArtifactFor(sourcev1.BucketKind, obj, revision, strings.TrimPrefix(revision, "sha256:")+".tar.gz")
	if err := run.r.store(obj, &art, run.dir); err != nil {
		return err
	}
	obj.Status.Artifact, obj.Status.ObservedIgnore = &art, obj.Spec.Ignore
	conditions.MarkTrue(obj, sourcev1.ArtifactInStorageCondition, meta.SucceededReason, "stored artifact for revision '%s'", revision)
	if run.r.Events != nil {
		run.r.Events.AnnotatedEventf(obj, nil, map[string]string{sourcev1.GroupVersion.Group + "/revision": revision},
			corev1.EventTypeNormal, "NewArtifact", "Fetch", "stored artifact with %d fetched files from '%s'", len(run.objects), obj.Spec.BucketName)
	}
	return nil
}

// gc removes superseded artifacts beyond the retention after a new one
// was stored.
func (run *bucketRun) gc(ctx context.Context, obj *sourcev1.Bucket) error {
	if run.upToDate {
		return nil
	}
	return collectGarbage(ctx, run.r.Storage, obj, *obj.Status.Artifact)
}
