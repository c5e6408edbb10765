package controller

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/events"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/artifact"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/source-controller/internal/bucket"
)

var (
	bucketNegative = []string{sourcev1.StorageOperationFailedCondition, sourcev1.FetchFailedCondition}
)

// DefaultBucketMaxSize bounds what one Bucket artifact downloads.
const DefaultBucketMaxSize = 512 << 20

// BucketOptions configures SetupBucket.
type BucketOptions struct {
	// ControllerName is the field owner and event reporter.
	ControllerName string
	// ControllerOptions are the concurrency and retry backoff.
	reconcile.ControllerOptions
	// MaxSize bounds the bytes downloaded per Bucket.
	MaxSize int64
}

// BucketReconciler turns the objects under a bucket prefix into an artifact.
type BucketReconciler struct {
	// Client reads Buckets and Secrets.
	Client client.Client
	// Events posts NewArtifact events.
	Events events.Recorder
	// Storage holds and serves the artifacts.
	Storage *artifact.Storage
	// MaxSize bounds the bytes downloaded per Bucket.
	MaxSize int64
}

// SetupBucket registers the Bucket reconciler with mgr.
func SetupBucket(mgr ctrl.Manager, rec events.Recorder, storage *artifact.Storage, o BucketOptions) error {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultBucketMaxSize
	}
	kind := &BucketReconciler{Client: mgr.GetClient(), Events: rec, Storage: storage, MaxSize: o.MaxSize}
	r := &reconcile.Reconciler[*sourcev1.Bucket]{
		Client: mgr.GetClient(), Events: rec, ControllerName: o.ControllerName,
		NewObject: func() *sourcev1.Bucket { return &sourcev1.Bucket{} },
		Negative:  bucketNegative, Kind: kind,
	}
	return r.SetupWithManager(mgr, o.ControllerOptions)
}

// Reconcile lists the objects, and downloads and stores them only when
// the object index (keys and ETags) changed.
func (r *BucketReconciler) Reconcile(ctx context.Context, obj *sourcev1.Bucket) (string, string, error) {
	if a := obj.Status.Artifact; a != nil && !r.Storage.ArtifactExist(*a) {
		obj.Status.Artifact = nil
	}
	c, err := r.client(ctx, obj)
	if err != nil {
		return "", "", markFetchFailed(obj, err)
	}
	ctx, cancel := context.WithTimeout(ctx, obj.GetTimeout())
	defer cancel()
	objects, err := c.List(ctx, obj.Spec.Prefix, ignoreMatcher(obj.Spec.Ignore))
	if err != nil {
		return "", "", markFetchFailed(obj, r.bucketError(obj, err))
	}
	revision := "sha256:" + bucket.Digest(objects)
	if a := obj.Status.Artifact; a != nil && a.Revision == revision && ptrEqual(obj.Spec.Ignore, obj.Status.ObservedIgnore) {
		conditions.Delete(obj, sourcev1.FetchFailedCondition)
		conditions.MarkTrue(obj, sourcev1.ArtifactInStorageCondition, sourcev1.ArtifactUpToDateReason, "artifact up-to-date with remote revision: '%s'", revision)
		return meta.SucceededReason, fmt.Sprintf("stored artifact for revision '%s'", revision), nil
	}
	dir, err := os.MkdirTemp("", "bucket-")
	if err != nil {
		return "", "", markStorageFailed(obj, sourcev1.DirCreationFailedReason, err)
	}
	defer os.RemoveAll(dir)
	if err := c.Download(ctx, objects, dir, r.MaxSize); err != nil {
		return "", "", markFetchFailed(obj, r.bucketError(obj, err))
	}
	conditions.Delete(obj, sourcev1.FetchFailedCondition)
	art := r.Storage.NewArtifactFor(sourcev1.BucketKind, obj, revision, strings.TrimPrefix(revision, "sha256:")+".tar.gz")
	if err := r.store(obj, &art, dir); err != nil {
		return "", "", err
	}
	obj.Status.Artifact, obj.Status.ObservedIgnore = &art, obj.Spec.Ignore
	conditions.MarkTrue(obj, sourcev1.ArtifactInStorageCondition, meta.SucceededReason, "stored artifact for revision '%s'", revision)
	if r.Events != nil {
		r.Events.AnnotatedEventf(obj, nil, map[string]string{sourcev1.GroupVersion.Group + "/revision": revision},
			corev1.EventTypeNormal, "NewArtifact", "Fetch", "stored artifact with %d fetched files from '%s'", len(objects), obj.Spec.BucketName)
	}
	if _, err := r.Storage.GarbageCollect(ctx, art, 5e9); err != nil {
		return "", "", markStorageFailed(obj, sourcev1.ArchiveOperationFailedReason, fmt.Errorf("garbage collection: %w", err))
	}
	return meta.SucceededReason, fmt.Sprintf("stored artifact for revision '%s'", revision), nil
}

func (r *BucketReconciler) store(obj *sourcev1.Bucket, art *meta.Artifact, dir string) error {
	unlock, err := r.Storage.Lock(*art)
	if err != nil {
		return reconcile.Retry(sourcev1.AcquireLockFailedReason, "%v", err)
	}
	defer unlock()
	if err := r.Storage.MkdirAllFor(*art); err != nil {
		return markStorageFailed(obj, sourcev1.DirCreationFailedReason, err)
	}
	if err := r.Storage.Archive(art, dir, nil); err != nil {
		return markStorageFailed(obj, sourcev1.ArchiveOperationFailedReason, err)
	}
	url, err := r.Storage.Symlink(*art, "latest.tar.gz")
	if err != nil {
		return markStorageFailed(obj, sourcev1.SymlinkUpdateFailedReason, err)
	}
	obj.Status.URL = url
	conditions.Delete(obj, sourcev1.StorageOperationFailedCondition)
	return nil
}

// client reads credentials and TLS settings; providers other than generic
// and STS are reported as not supported yet.
func (r *BucketReconciler) client(ctx context.Context, obj *sourcev1.Bucket) (*bucket.Client, error) {
	spec := obj.Spec
	if spec.Provider != "" && spec.Provider != "generic" {
		return nil, reconcile.Stall(sourcev1.InvalidProviderConfigurationReason,
			"bucket provider %q is not supported yet by gotk (only generic, S3-compatible)", spec.Provider)
	}
	if spec.STS != nil {
		return nil, reconcile.Stall(sourcev1.InvalidSTSConfigurationReason, "spec.sts is not supported yet by gotk")
	}
	o := bucket.Options{Endpoint: spec.Endpoint, Bucket: spec.BucketName, Region: spec.Region, Insecure: spec.Insecure}
	if ref := spec.SecretRef; ref != nil {
		data, err := readSecret(ctx, r.Client, obj.Namespace, ref.Name)
		if err != nil {
			return nil, err
		}
		o.AccessKey, o.SecretKey = string(data["accesskey"]), string(data["secretkey"])
		if o.AccessKey == "" || o.SecretKey == "" {
			return nil, reconcile.Stall(sourcev1.AuthenticationFailedReason, "secret '%s' needs both 'accesskey' and 'secretkey'", ref.Name)
		}
	}
	if ref := spec.CertSecretRef; ref != nil {
		cfg, err := tlsFromSecret(ctx, r.Client, obj.Namespace, ref.Name)
		if err != nil {
			return nil, err
		}
		o.TLS = cfg
	}
	c, err := bucket.New(o)
	if err != nil {
		return nil, reconcile.Stall(sourcev1.URLInvalidReason, "%v", err)
	}
	return c, nil
}

func (r *BucketReconciler) bucketError(obj *sourcev1.Bucket, err error) error {
	if bucket.IsAuthError(err) {
		return reconcile.Retry(sourcev1.AuthenticationFailedReason, "endpoint %s refused the credentials for bucket '%s': %v",
			obj.Spec.Endpoint, obj.Spec.BucketName, err)
	}
	return reconcile.Retry("BucketOperationFailed", "%v", err)
}

// Finalize removes the stored artifacts.
func (r *BucketReconciler) Finalize(_ context.Context, obj *sourcev1.Bucket) error {
	return removeArtifacts(r.Storage, obj.Status.Artifact)
}

// ignoreMatcher keeps keys not matched by the .gitignore-syntax patterns.
func ignoreMatcher(ignore *string) func(string) bool {
	if ignore == nil {
		return nil
	}
	var patterns []gitignore.Pattern
	for _, line := range strings.Split(*ignore, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, gitignore.ParsePattern(line, nil))
		}
	}
	m := gitignore.NewMatcher(patterns)
	return func(key string) bool { return !m.Match(strings.Split(key, "/"), false) }
}

func ptrEqual(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}
