// Package controller holds source-controller's reconcilers, one kind per
// set of files (<kind>_controller.go wiring and Reconcile, <kind>_steps.go
// the ordered steps).
package controller

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/events"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	ctrlreconcile "sigs.k8s.io/controller-runtime/pkg/reconcile"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/artifact"
	"gotk.dev/pkg/runtime/predicates"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/source-controller/internal/gitcache"
)

// includeIndexKey indexes GitRepositories by the names they include, so
// a new artifact of an included repository re-reconciles its includers.
const includeIndexKey = ".spec.include.repository.name"

// gitRepositoryNegative are the GitRepository conditions, in priority
// order, that make Ready False when left True.
var gitRepositoryNegative = []string{
	sourcev1.StorageOperationFailedCondition, sourcev1.FetchFailedCondition, sourcev1.IncludeUnavailableCondition,
	sourcev1.BuildFailedCondition,
}

// GitRepositoryOptions configures SetupGitRepository.
type GitRepositoryOptions struct {
	// ControllerName is the field owner and event reporter.
	ControllerName string
	// ControllerOptions are the concurrency and retry backoff.
	reconcile.ControllerOptions
	// CacheDir holds shared checkouts; empty means a new private directory
	// under the system temporary directory.
	CacheDir string
	// CacheEntries is how many checkouts are kept for reuse.
	CacheEntries int
	// CacheMaxBytes bounds the total size of the kept checkouts (0: no
	// byte limit).
	CacheMaxBytes int64
	// RefCacheTTL is how long a ref listing is reused by other
	// GitRepositories on the same URL and credentials.
	RefCacheTTL time.Duration
	// MaxCheckoutBytes refuses checkouts larger than this (0: no limit).
	MaxCheckoutBytes int64
	// Shard names the controller's --watch-label-selector in reference
	// messages (zero: not sharded).
	Shard reconcile.Shard
	// WorkloadIdentity is the ObjectLevelWorkloadIdentity feature gate:
	// spec.serviceAccountName of provider azure.
	WorkloadIdentity bool
	// CloudHTTPClient, when set, carries provider azure's token requests.
	CloudHTTPClient *http.Client
}

// GitRepositoryReconciler turns GitRepositories into artifacts. It is
// the Kind of the shared reconcile skeleton.
type GitRepositoryReconciler struct {
	// Client reads GitRepositories and Secrets.
	Client client.Client
	// Events posts NewArtifact events with revision metadata.
	Events events.Recorder
	// Storage holds and serves the artifacts.
	Storage *artifact.Storage
	// Cache shares ref listings and checkouts.
	Cache *gitcache.Cache
	// MaxCheckoutBytes refuses checkouts larger than this (0: no limit).
	MaxCheckoutBytes int64
	// Shard names the controller's shard when an include is not found.
	Shard reconcile.Shard
	// WorkloadIdentity and CloudHTTPClient are GitRepositoryOptions'.
	WorkloadIdentity bool
	CloudHTTPClient  *http.Client

	// shared links identical artifacts of different objects.
	shared contentIndex
}

// SetupGitRepository registers the GitRepository controller with mgr.
func SetupGitRepository(ctx context.Context, mgr ctrl.Manager, rec events.Recorder, storage *artifact.Storage, o GitRepositoryOptions) (*GitRepositoryReconciler, error) {
	if o.CacheDir == "" {
		// A private directory: the cache clears its leftovers on start, so
		// two processes must never share the default.
		dir, err := os.MkdirTemp("", "gotk-git-cache-")
		if err != nil {
			return nil, fmt.Errorf("git cache: %w", err)
		}
		o.CacheDir = dir
		// Private means ours to remove when the controller stops.
		go func() { <-ctx.Done(); _ = os.RemoveAll(dir) }()
	}
	if o.CacheEntries == 0 {
		o.CacheEntries = 32
	}
	cache, err := gitcache.New(o.CacheDir, o.RefCacheTTL, gitcache.Limits{Entries: o.CacheEntries, Bytes: o.CacheMaxBytes})
	if err != nil {
		return nil, err
	}
	r := &GitRepositoryReconciler{Client: mgr.GetClient(), Events: rec, Storage: storage, Cache: cache, MaxCheckoutBytes: o.MaxCheckoutBytes, Shard: o.Shard,
		WorkloadIdentity: o.WorkloadIdentity, CloudHTTPClient: o.CloudHTTPClient}
	err = mgr.GetFieldIndexer().IndexField(ctx, &sourcev1.GitRepository{}, includeIndexKey, func(obj client.Object) []string {
		var names []string
		for _, inc := range obj.(*sourcev1.GitRepository).Spec.Include {
			names = append(names, inc.GitRepositoryRef.Name)
		}
		return names
	})
	if err != nil {
		return nil, fmt.Errorf("index GitRepository includes: %w", err)
	}
	err = setupKind[sourcev1.GitRepository](mgr, rec, o.ControllerName, o.ControllerOptions, gitRepositoryNegative, r,
		reconcile.Watches(&sourcev1.GitRepository{}, handler.EnqueueRequestsFromMapFunc(r.includers),
			builder.WithPredicates(predicates.SourceRevisionChanged{})))
	if err != nil {
		return nil, err
	}
	return r, nil
}

// includers maps a GitRepository to the GitRepositories that include it.
func (r *GitRepositoryReconciler) includers(ctx context.Context, obj client.Object) []ctrlreconcile.Request {
	var list sourcev1.GitRepositoryList
	if err := r.Client.List(ctx, &list, client.InNamespace(obj.GetNamespace()), client.MatchingFields{includeIndexKey: obj.GetName()}); err != nil {
		log.FromContext(ctx).Error(err, "listing includers")
		return nil
	}
	reqs := make([]ctrlreconcile.Request, 0, len(list.Items))
	for _, o := range list.Items {
		reqs = append(reqs, ctrlreconcile.Request{NamespacedName: types.NamespacedName{Namespace: o.Namespace, Name: o.Name}})
	}
	return reqs
}

// Reconcile runs the GitRepository steps in order: check what storage
// holds, resolve includes, list the remote and fetch when it changed,
// verify signatures, then build and publish the artifact.
func (r *GitRepositoryReconciler) Reconcile(ctx context.Context, obj *sourcev1.GitRepository) (string, string, error) {
	run := &gitRun{r: r}
	defer run.cleanup()
	err := reconcile.RunSteps(ctx, obj,
		reconcile.Step[*sourcev1.GitRepository]{Name: "storage", Run: run.reconcileStorage},
		reconcile.Step[*sourcev1.GitRepository]{Name: "include", Run: run.resolveIncludes},
		reconcile.Step[*sourcev1.GitRepository]{Name: "source", Run: run.reconcileSource},
		reconcile.Step[*sourcev1.GitRepository]{Name: "verify", Run: run.reconcileVerify},
		reconcile.Step[*sourcev1.GitRepository]{Name: "artifact", Run: run.reconcileArtifact},
	)
	if err != nil {
		return "", "", err
	}
	return meta.SucceededReason, fmt.Sprintf("stored artifact for revision '%s'", obj.Status.Artifact.Revision), nil
}

// Finalize removes every artifact of the object from storage, and the
// cached checkouts no other GitRepository uses.
func (r *GitRepositoryReconciler) Finalize(ctx context.Context, obj *sourcev1.GitRepository) error {
	r.Cache.Forget(cacheOwner(obj))
	art := r.Storage.NewArtifactFor(sourcev1.GitRepositoryKind, obj, "", "deleted.tar.gz")
	unlock, err := r.Storage.Lock(art)
	if err != nil {
		return err
	}
	defer unlock()
	dir, err := r.Storage.RemoveAll(art)
	if err != nil {
		return reconcile.Retry(sourcev1.StorageOperationFailedCondition, "garbage collecting artifacts: %v", err)
	}
	if dir != "" {
		log.FromContext(ctx).V(1).Info("removed artifacts", "dir", dir)
	}
	return nil
}
