// Package controller holds helm-controller's HelmRelease reconciler.
package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/pkg/runtime/events"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	ctrlreconcile "sigs.k8s.io/controller-runtime/pkg/reconcile"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/runtime/predicates"
	"gotk.dev/pkg/runtime/reconcile"

	"gotk.dev/helm-controller/internal/action"
	"gotk.dev/helm-controller/internal/chart"
)

// ControllerName is the field owner and event source of the controller.
const ControllerName = "helm-controller"

// chartSourceIndex indexes HelmReleases by the '<kind>/<namespace>/<name>'
// of the source whose artifact is their chart.
const chartSourceIndex = ".spec.chartSource"

// valuesRefIndex indexes HelmReleases by the '<kind>/<name>' of each
// ConfigMap and Secret in their valuesFrom.
const valuesRefIndex = ".spec.valuesFrom"

// WatchLabel on a ConfigMap or Secret makes changes to it reconcile the
// HelmReleases that take values from it.
const WatchLabel = "reconcile.fluxcd.io/watch"

// DefaultDependencyRequeue is how long a HelmRelease waits for a
// dependency that is not ready.
const DefaultDependencyRequeue = 30 * time.Second

// HelmReleaseReconciler installs, upgrades, tests, rolls back and
// uninstalls Helm releases. It is the HelmRelease Kind of the reconcile
// skeleton: Reconcile runs the steps in helmrelease_steps.go and
// helmrelease_release.go.
type HelmReleaseReconciler struct {
	// Client reads HelmReleases, sources, ConfigMaps and Secrets and
	// manages generated HelmCharts.
	Client client.Client
	// AllShards reads dependsOn targets in every shard (nil: Client).
	AllShards client.Reader
	// Shard names this controller's --watch-label-selector in reference
	// messages (zero: not sharded).
	Shard reconcile.Shard
	// Events records news (install, upgrade, …) with revision metadata.
	Events events.Recorder
	// Clients are the Kubernetes clients Helm uses, shared by all releases.
	Clients *action.Clients
	// Charts loads chart artifacts, once per digest.
	Charts *chart.Loader
	// DependencyRequeue is the wait for a dependency that is not ready
	// (0: DefaultDependencyRequeue).
	DependencyRequeue time.Duration
	// ImpersonationClients builds the clients of a service account; nil
	// leaves serviceAccountName unsupported.
	ImpersonationClients func(namespace, serviceAccount string) (*action.Clients, error)
	// Remotes caches the clients of the clusters named in spec.kubeConfig;
	// nil leaves kubeConfig unsupported.
	Remotes *action.Remotes
	// NoCrossNamespaceRefs refuses chart sources and dependencies in
	// other namespaces (--no-cross-namespace-refs).
	NoCrossNamespaceRefs bool
	// DefaultServiceAccount is impersonated when spec.serviceAccountName
	// is empty (--default-service-account); the remote cluster of a
	// kubeConfig is not affected.
	DefaultServiceAccount string
	// DefaultKubeConfigServiceAccount is the token identity of a
	// kubeConfig configMapRef whose ConfigMap names none.
	DefaultKubeConfigServiceAccount string
	// WorkloadIdentity is the ObjectLevelWorkloadIdentity feature gate:
	// without it no ServiceAccount token is minted for a HelmRelease.
	WorkloadIdentity bool
	// DriftDefault is the drift detection mode of HelmReleases that set no
	// spec.driftDetection (the DetectDrift and CorrectDrift feature
	// gates, see DriftDefault); empty leaves them unchecked, Flux's default.
	DriftDefault helmv2.DriftDetectionMode
}

// DriftDefault maps Flux's legacy drift feature gates to the mode of
// HelmReleases without spec.driftDetection: DetectDrift reports drift
// (warn), DetectDrift with CorrectDrift also corrects it (enabled);
// CorrectDrift alone does nothing, as in Flux.
func DriftDefault(detect, correct bool) helmv2.DriftDetectionMode {
	switch {
	case detect && correct:
		return helmv2.DriftDetectionEnabled
	case detect:
		return helmv2.DriftDetectionWarn
	}
	return ""
}

// driftDetection is obj's drift detection, or DriftDefault's when the
// spec sets none.
func (r *HelmReleaseReconciler) driftDetection(obj *helmv2.HelmRelease) helmv2.DriftDetection {
	if obj.Spec.DriftDetection == nil && r.DriftDefault != "" {
		return helmv2.DriftDetection{Mode: r.DriftDefault}
	}
	return obj.GetDriftDetection()
}

// negative lists the conditions that make Ready False when True. Drifted
// is not one: it is only left True in warn mode, where the release is as
// ready as the user asked it to be.
var negative = []string{helmv2.RemediatedCondition}

// skeleton is the reconcile skeleton running r on the HelmReleases c
// reads and patches.
func (r *HelmReleaseReconciler) skeleton(c client.Client) *reconcile.Reconciler[*helmv2.HelmRelease] {
	return &reconcile.Reconciler[*helmv2.HelmRelease]{
		Client:         c,
		Events:         r.Events,
		ControllerName: ControllerName,
		NewObject:      func() *helmv2.HelmRelease { return &helmv2.HelmRelease{} },
		Negative:       negative,
		Kind:           r,
	}
}

// SetupWithManager registers the reconciler, run by the skeleton.
func (r *HelmReleaseReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts reconcile.ControllerOptions) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &helmv2.HelmRelease{}, chartSourceIndex, func(o client.Object) []string {
		if key := chartSourceKey(o.(*helmv2.HelmRelease)); key != "" {
			return []string{key}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("indexing HelmReleases by chart source: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &helmv2.HelmRelease{}, valuesRefIndex, func(o client.Object) []string {
		var keys []string
		for _, ref := range o.(*helmv2.HelmRelease).Spec.ValuesFrom {
			keys = append(keys, ref.Kind+"/"+ref.Name)
		}
		return keys
	}); err != nil {
		return fmt.Errorf("indexing HelmReleases by values references: %w", err)
	}
	// The skeleton reads each HelmRelease from the API server, not the
	// cache: failure counters and last-attempt fields decide remediation,
	// and a retry reading a stale copy would miscount.
	direct, err := client.New(mgr.GetConfig(), client.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper()})
	if err != nil {
		return err
	}
	return r.skeleton(direct).SetupWithManager(mgr, opts,
		reconcile.Watches(&sourcev1.HelmChart{}, handler.EnqueueRequestsFromMapFunc(r.releasesForSource(sourcev1.HelmChartKind)),
			builder.WithPredicates(predicates.SourceRevisionChanged{})),
		reconcile.Watches(&sourcev1.OCIRepository{}, handler.EnqueueRequestsFromMapFunc(r.releasesForSource(sourcev1.OCIRepositoryKind)),
			builder.WithPredicates(predicates.SourceRevisionChanged{})),
		reconcile.Watches(&sourcev1.ExternalArtifact{}, handler.EnqueueRequestsFromMapFunc(r.releasesForSource(sourcev1.ExternalArtifactKind)),
			builder.WithPredicates(predicates.SourceRevisionChanged{})),
		// Only metadata of ConfigMaps and Secrets is watched, and only
		// labelled ones pass: their content is read when reconciling.
		reconcile.WatchesMetadata(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.releasesForValues("ConfigMap")),
			builder.WithPredicates(watchLabelled, predicate.ResourceVersionChangedPredicate{})),
		reconcile.WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.releasesForValues("Secret")),
			builder.WithPredicates(watchLabelled, predicate.ResourceVersionChangedPredicate{})),
	)
}

// chartSourceKey is the index key of the source a HelmRelease's chart
// comes from: its chartRef, or the HelmChart generated for spec.chart.
func chartSourceKey(hr *helmv2.HelmRelease) string {
	switch {
	case hr.Spec.ChartRef != nil:
		ns := hr.Spec.ChartRef.Namespace
		if ns == "" {
			ns = hr.Namespace
		}
		return hr.Spec.ChartRef.Kind + "/" + ns + "/" + hr.Spec.ChartRef.Name
	case hr.Spec.Chart != nil:
		return sourcev1.HelmChartKind + "/" + hr.Spec.Chart.GetNamespace(hr.Namespace) + "/" + hr.GetHelmChartName()
	}
	return ""
}

func (r *HelmReleaseReconciler) releasesForSource(kind string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []ctrlreconcile.Request {
		var list helmv2.HelmReleaseList
		key := kind + "/" + o.GetNamespace() + "/" + o.GetName()
		if err := r.Client.List(ctx, &list, client.MatchingFields{chartSourceIndex: key}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing HelmReleases of a chart source", "source", key)
			return nil
		}
		reqs := make([]ctrlreconcile.Request, 0, len(list.Items))
		for _, hr := range list.Items {
			reqs = append(reqs, ctrlreconcile.Request{NamespacedName: types.NamespacedName{Namespace: hr.Namespace, Name: hr.Name}})
		}
		return reqs
	}
}

// watchLabelled passes objects labelled reconcile.fluxcd.io/watch: Enabled.
var watchLabelled = predicate.NewPredicateFuncs(func(o client.Object) bool {
	return strings.EqualFold(o.GetLabels()[WatchLabel], "Enabled")
})

func (r *HelmReleaseReconciler) releasesForValues(kind string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []ctrlreconcile.Request {
		var list helmv2.HelmReleaseList
		if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace()),
			client.MatchingFields{valuesRefIndex: kind + "/" + o.GetName()}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing HelmReleases of a values reference")
			return nil
		}
		reqs := make([]ctrlreconcile.Request, 0, len(list.Items))
		for _, hr := range list.Items {
			reqs = append(reqs, ctrlreconcile.Request{NamespacedName: types.NamespacedName{Namespace: hr.Namespace, Name: hr.Name}})
		}
		return reqs
	}
}

// Reconcile runs the ordered steps: dependencies, chart source, chart,
// values, release (the Helm actions).
func (r *HelmReleaseReconciler) Reconcile(ctx context.Context, obj *helmv2.HelmRelease) (string, string, error) {
	run := &releaseRun{r: r}
	err := reconcile.RunSteps(ctx, obj,
		reconcile.Step[*helmv2.HelmRelease]{Name: "dependencies", Run: run.checkDependencies},
		reconcile.Step[*helmv2.HelmRelease]{Name: "chart-template", Run: run.reconcileChartTemplate},
		reconcile.Step[*helmv2.HelmRelease]{Name: "chart", Run: run.loadChart},
		reconcile.Step[*helmv2.HelmRelease]{Name: "values", Run: run.composeValues},
		reconcile.Step[*helmv2.HelmRelease]{Name: "release", Run: run.reconcileRelease},
	)
	return run.readyReason, run.readyMessage, err
}

// Finalize uninstalls the release (unless the HelmRelease is suspended or
// targets a remote cluster it can no longer reach) and deletes the
// HelmChart generated for spec.chart.
func (r *HelmReleaseReconciler) Finalize(ctx context.Context, obj *helmv2.HelmRelease) error {
	run := &releaseRun{r: r}
	return run.finalize(ctx, obj)
}

// allShards reads HelmReleases whatever their shard.
func (r *HelmReleaseReconciler) allShards() client.Reader {
	if r.AllShards != nil {
		return r.AllShards
	}
	return r.Client
}
