package controller

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/events"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
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
	// WorkloadIdentity is the ObjectLevelWorkloadIdentity feature gate:
	// spec.serviceAccountName names the cloud identity of a provider.
	WorkloadIdentity bool
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
	// WorkloadIdentity is the ObjectLevelWorkloadIdentity feature gate:
	// spec.serviceAccountName names the cloud identity of a provider.
	WorkloadIdentity bool
	// TokenHTTPClient, when set, carries the cloud token requests
	// (Microsoft Entra); nil is the SDKs' default transport.
	TokenHTTPClient *http.Client
}

// SetupBucket registers the Bucket reconciler with mgr.
func SetupBucket(mgr ctrl.Manager, rec events.Recorder, storage *artifact.Storage, o BucketOptions) error {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultBucketMaxSize
	}
	kind := &BucketReconciler{Client: mgr.GetClient(), Events: rec, Storage: storage, MaxSize: o.MaxSize, WorkloadIdentity: o.WorkloadIdentity}
	return setupKind[sourcev1.Bucket](mgr, rec, o.ControllerName, o.ControllerOptions, bucketNegative, kind)
}

// Reconcile runs the Bucket steps in order: forget a lost stored
// artifact, connect, list the objects, and only when the object index
// (keys and ETags) or the ignore rules changed download them, store the
// artifact and collect superseded ones.
func (r *BucketReconciler) Reconcile(ctx context.Context, obj *sourcev1.Bucket) (string, string, error) {
	// One spec.timeout for everything the steps fetch and collect.
	ctx, cancel := context.WithTimeout(ctx, obj.GetTimeout())
	defer cancel()
	run := &bucketRun{r: r}
	defer run.cleanup()
	err := reconcile.RunSteps(ctx, obj,
		reconcile.Step[*sourcev1.Bucket]{Name: "storage", Run: run.checkStorage},
		reconcile.Step[*sourcev1.Bucket]{Name: "connect", Run: run.connect},
		reconcile.Step[*sourcev1.Bucket]{Name: "list", Run: run.list},
		reconcile.Step[*sourcev1.Bucket]{Name: "download", Run: run.download},
		reconcile.Step[*sourcev1.Bucket]{Name: "artifact", Run: run.storeArtifact},
		reconcile.Step[*sourcev1.Bucket]{Name: "gc", Run: run.gc},
	)
	if err != nil {
		return "", "", err
	}
	return meta.SucceededReason, fmt.Sprintf("stored artifact for revision '%s'", obj.Status.Artifact.Revision), nil
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

// bucketError types a list or download error: refused credentials,
// requests signed for another region than the bucket's, a missing bucket, or any other failure (an unreachable endpoint), all
// retried.
func (r *BucketReconciler) bucketError(obj *sourcev1.Bucket, err error) error {
	// SDK errors can span lines (request, response, body): one line here.
	msg := strings.Join(strings.Fields(err.Error()), " ")
	region, wrongRegion := bucket.WrongRegion(err)
	switch {
	case bucket.IsAuthError(err):
		return reconcile.Retry(sourcev1.AuthenticationFailedReason, "endpoint %s refused the credentials for bucket '%s': %s",
			obj.Spec.Endpoint, obj.Spec.BucketName, msg)
	case wrongRegion:
		return reconcile.Retry(sourcev1.BucketOperationFailedReason, "endpoint %s refused requests signed for region '%s': bucket '%s' is in region '%s' (spec.region)",
			obj.Spec.Endpoint, obj.Spec.Region, obj.Spec.BucketName, region)
	case errors.Is(err, bucket.ErrBucketNotFound):
		return reconcile.Retry(sourcev1.BucketOperationFailedReason, "bucket '%s' not found at endpoint %s", obj.Spec.BucketName, obj.Spec.Endpoint)
	case errors.As(err, new(x509.UnknownAuthorityError)):
		// Say which field fixes it: the SDK's error names only x509.
		return reconcile.Retry(sourcev1.BucketOperationFailedReason,
			"endpoint %s: its certificate is not signed by a trusted CA (trust its CA with 'ca.crt' in spec.certSecretRef): %s", obj.Spec.Endpoint, msg)
	}
	return reconcile.Retry(sourcev1.BucketOperationFailedReason, "endpoint %s: %s", obj.Spec.Endpoint, msg)
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
