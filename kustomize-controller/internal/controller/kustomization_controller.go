// Package controller reconciles Kustomizations: fetch the source artifact,
// build, apply, prune, check health.
package controller

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/fluxcd/pkg/runtime/events"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	ctrlreconcile "sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/kustomize"
	"gotk.dev/pkg/runtime/predicates"
	"gotk.dev/pkg/runtime/reconcile"

	"gotk.dev/kustomize-controller/internal/apply"
	"gotk.dev/kustomize-controller/internal/artifactcache"
	"gotk.dev/kustomize-controller/internal/drift"
	"gotk.dev/kustomize-controller/internal/remote"
)

// FieldManager is the server-side apply field manager, Flux's own, so
// objects can move between Flux and gotk without ownership conflicts.
const FieldManager = "kustomize-controller"

// Defaults of --concurrent, --kube-api-qps and --kube-api-burst (Flux:
// 4, 50, 300). A Kustomization of a few objects is a handful of API round
// trips, each waiting on the API server: at 4 workers the controller is
// latency-bound, and at 50 QPS 1000 Kustomizations of 7 requests take
// at least 140 s. The API server's priority and fairness queues what it
// cannot take at once, so the client limit only has to stop a runaway.
const (
	DefaultConcurrent   = 10
	DefaultKubeAPIQPS   = 1000
	DefaultKubeAPIBurst = 2000
)

// sourceIndexKey indexes Kustomizations by "<Kind>/<namespace>/<name>" of
// their source.
const sourceIndexKey = ".spec.sourceRef"

// KustomizationReconciler is the Kustomization kind for the reconcile
// skeleton; its steps are in the kustomization_*.go files.
type KustomizationReconciler struct {
	// Client reads Kustomizations and sources and applies objects when no
	// service account is impersonated.
	Client client.Client
	// APIReader reads Secrets and ConfigMaps without caching them.
	APIReader client.Reader
	// AllShards reads dependsOn targets in every shard (nil: Client).
	AllShards client.Reader
	// Shard names this controller's --watch-label-selector in reference
	// messages (zero: not sharded).
	Shard reconcile.Shard
	// Config is the controller's REST config, the base of impersonation.
	Config *rest.Config
	// Events posts events with revision metadata.
	Events events.Recorder
	// Artifacts downloads each artifact digest once.
	Artifacts *artifactcache.Cache
	// ControllerName is the status field owner.
	ControllerName string
	// ConcurrentSSA bounds parallel apply requests per Kustomization.
	ConcurrentSSA int
	// NoCrossNamespaceRefs refuses sources and dependencies in other namespaces.
	NoCrossNamespaceRefs bool
	// RequeueDependency is the delay while a source or dependency is not ready.
	RequeueDependency time.Duration
	// DefaultServiceAccount is impersonated when spec.serviceAccountName is empty.
	DefaultServiceAccount string
	// DefaultKubeConfigServiceAccount is the token identity of a
	// kubeConfig configMapRef whose ConfigMap names none.
	DefaultKubeConfigServiceAccount string
	// AllowRemoteBases lets builds fetch kustomize remote bases
	// (--no-remote-bases=false).
	AllowRemoteBases bool
	// WorkloadIdentity is the ObjectLevelWorkloadIdentity feature gate:
	// without it no ServiceAccount token is minted for a Kustomization.
	WorkloadIdentity bool
	// HealthPollInterval is the delay between health reads (0: 2s).
	HealthPollInterval time.Duration
	// StrictSubstitution is the StrictPostBuildSubstitutions gate: a
	// variable referenced without a value or default fails the build.
	StrictSubstitution bool
	// DefaultDecryptionServiceAccount (--default-decryption-service-account)
	// is the workload identity of decryption when spec.decryption names none.
	DefaultDecryptionServiceAccount string
	// SOPSAgeSecret names a Secret whose age keys every decryption may use.
	SOPSAgeSecret client.ObjectKey
	// Drift, when set, watches applied objects: drift is corrected within
	// seconds and an unchanged reconcile does no work.
	Drift *drift.Watcher
	// Builds caches build output by artifact digest and build options, so
	// a reconcile that changed nothing skips kustomize (nil: no cache).
	Builds *kustomize.BuildCache
	// Remote caches the clusters of spec.kubeConfig (nil: made on first use).
	Remote *remote.Cache
	// CustomStageKinds are applied after CRDs and Namespaces and are ready
	// before the rest is applied (--custom-apply-stage-kinds).
	CustomStageKinds []apply.StageKind

	remoteOnce sync.Once
}

// SetupWithManager registers the reconciler: Kustomizations (new
// generation or reconcile request) and their sources (new artifact).
func (r *KustomizationReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts reconcile.ControllerOptions) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &kustomizev1.Kustomization{}, sourceIndexKey, func(o client.Object) []string {
		ks := o.(*kustomizev1.Kustomization)
		return []string{sourceKey(ks.Spec.SourceRef.Kind, sourceNamespace(ks), ks.Spec.SourceRef.Name)}
	}); err != nil {
		return err
	}
	var watches []reconcile.Watch
	for kind, obj := range map[string]client.Object{
		sourcev1.GitRepositoryKind:    &sourcev1.GitRepository{},
		sourcev1.OCIRepositoryKind:    &sourcev1.OCIRepository{},
		sourcev1.BucketKind:           &sourcev1.Bucket{},
		sourcev1.ExternalArtifactKind: &sourcev1.ExternalArtifact{},
	} {
		watches = append(watches, reconcile.Watches(obj, handler.EnqueueRequestsFromMapFunc(r.requestsForSource(kind)),
			builder.WithPredicates(predicates.SourceRevisionChanged{})))
	}
	if r.Drift != nil {
		if err := mgr.Add(r.Drift); err != nil {
			return err
		}
		watches = append(watches, reconcile.WatchesRawSource(source.Channel(r.driftEvents(), &handler.EnqueueRequestForObject{})))
	}
	// After driftEvents: remote clusters' watchers report to the same channel.
	r.remoteCache().Bind(ctx)
	return r.skeleton().SetupWithManager(mgr, opts, watches...)
}

// skeleton is the reconcile skeleton running r.
func (r *KustomizationReconciler) skeleton() *reconcile.Reconciler[*kustomizev1.Kustomization] {
	return &reconcile.Reconciler[*kustomizev1.Kustomization]{
		Client:         r.Client,
		Events:         r.Events,
		ControllerName: r.ControllerName,
		NewObject:      func() *kustomizev1.Kustomization { return &kustomizev1.Kustomization{} },
		Kind:           r,
	}
}

// requestsForSource maps a source to the Kustomizations that use it.
func (r *KustomizationReconciler) requestsForSource(kind string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []ctrlreconcile.Request {
		var list kustomizev1.KustomizationList
		if err := r.Client.List(ctx, &list, client.MatchingFields{sourceIndexKey: sourceKey(kind, o.GetNamespace(), o.GetName())}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing Kustomizations of a source")
			return nil
		}
		reqs := make([]ctrlreconcile.Request, 0, len(list.Items))
		for _, ks := range list.Items {
			reqs = append(reqs, ctrlreconcile.Request{NamespacedName: types.NamespacedName{Namespace: ks.Namespace, Name: ks.Name}})
		}
		return reqs
	}
}

func sourceKey(kind, namespace, name string) string {
	return fmt.Sprintf("%s/%s/%s", kind, namespace, name)
}

func sourceNamespace(ks *kustomizev1.Kustomization) string {
	if ks.Spec.SourceRef.Namespace != "" {
		return ks.Spec.SourceRef.Namespace
	}
	return ks.Namespace
}

// Reconcile runs the steps in order: expressions, dependencies, source,
// build, apply, prune, health. Each step reads the state the previous ones left in run.
func (r *KustomizationReconciler) Reconcile(ctx context.Context, obj *kustomizev1.Kustomization) (string, string, error) {
	if rev, ok := r.unchanged(ctx, obj); ok {
		return kustomizev1.ReconciliationSucceededReason, "Applied revision: " + rev, nil
	}
	run := &kustomizationRun{r: r, start: time.Now()}
	err := reconcile.RunSteps(ctx, obj,
		reconcile.Step[*kustomizev1.Kustomization]{Name: "expressions", Run: run.compileExpressions},
		reconcile.Step[*kustomizev1.Kustomization]{Name: "dependencies", Run: run.dependencies},
		reconcile.Step[*kustomizev1.Kustomization]{Name: "source", Run: run.source},
		reconcile.Step[*kustomizev1.Kustomization]{Name: "build", Run: run.build},
		reconcile.Step[*kustomizev1.Kustomization]{Name: "apply", Run: run.apply},
		reconcile.Step[*kustomizev1.Kustomization]{Name: "prune", Run: run.prune},
		reconcile.Step[*kustomizev1.Kustomization]{Name: "health", Run: run.health},
	)
	run.recordHistory(obj, err)
	if err != nil {
		return "", "", err
	}
	obj.Status.LastAppliedRevision = run.revision
	obj.Status.LastAppliedOriginRevision = run.originRevision
	return kustomizev1.ReconciliationSucceededReason, "Applied revision: " + run.revision, nil
}

// Finalize applies spec.deletionPolicy to the inventory.
func (r *KustomizationReconciler) Finalize(ctx context.Context, obj *kustomizev1.Kustomization) error {
	return r.finalize(ctx, obj)
}

// allShards reads Kustomizations whatever their shard.
func (r *KustomizationReconciler) allShards() client.Reader {
	if r.AllShards != nil {
		return r.AllShards
	}
	return r.Client
}
