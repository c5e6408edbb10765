package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/events"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/artifact"
	"gotk.dev/pkg/cloudauth"
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

// client reads credentials and TLS settings: secretRef's keys, or with
// provider aws and no secretRef, the AWS SDK's credentials (the
// controller's, or spec.serviceAccountName's web identity). Other cloud
// providers and spec.sts are refused, naming them.
func (r *BucketReconciler) client(ctx context.Context, obj *sourcev1.Bucket) (*bucket.Client, error) {
	spec := obj.Spec
	switch spec.Provider {
	case "", sourcev1.BucketProviderGeneric, sourcev1.BucketProviderAmazon:
	default:
		return nil, reconcile.Stall(sourcev1.InvalidProviderConfigurationReason,
			"bucket provider %q is not supported yet by gotk (generic and aws are)", spec.Provider)
	}
	if spec.STS != nil {
		return nil, reconcile.Stall(sourcev1.InvalidSTSConfigurationReason, "spec.sts (provider %s) is not supported yet by gotk", spec.STS.Provider)
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
	} else if spec.Provider == sourcev1.BucketProviderAmazon {
		if err := r.awsCredentials(ctx, obj, &o); err != nil {
			return nil, err
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

// awsCredentials sets o's keys from the AWS SDK's credentials for the
// Bucket's region: the controller's default chain, or the web identity of
// spec.serviceAccountName behind the ObjectLevelWorkloadIdentity gate.
func (r *BucketReconciler) awsCredentials(ctx context.Context, obj *sourcev1.Bucket, o *bucket.Options) error {
	a := cloudauth.ObjectAuth{Provider: obj.Spec.Provider, Namespace: obj.Namespace, ServiceAccountName: obj.Spec.ServiceAccountName,
		WorkloadIdentity: r.WorkloadIdentity, Field: "spec.serviceAccountName"}
	id, err := a.Identity(ctx, r.Client)
	if err != nil {
		return err
	}
	cfg, err := cloudauth.AWSConfig(ctx, obj.Spec.Region, cloudauth.Options{Identity: id})
	if err == nil && cfg.Credentials == nil {
		err = errors.New("no credentials found")
	}
	if err != nil {
		return reconcile.Stall(sourcev1.InvalidProviderConfigurationReason, "provider aws: %v", err)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return reconcile.Retry(sourcev1.AuthenticationFailedReason, "provider aws: no AWS credentials: %v", err)
	}
	o.AccessKey, o.SecretKey, o.SessionToken = creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken
	return nil
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
