package controller

import (
	"context"
	"fmt"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	ctrlreconcile "sigs.k8s.io/controller-runtime/pkg/reconcile"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/artifact"
	"gotk.dev/pkg/runtime/predicates"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/source-controller/internal/helm"
)

var (
	helmChartNegative = []string{sourcev1.StorageOperationFailedCondition, sourcev1.FetchFailedCondition, sourcev1.BuildFailedCondition}
)

// helmChartSourceIndex indexes HelmCharts by "<Kind>/<name>" of their source.
const helmChartSourceIndex = ".spec.sourceRef"

// Default size limits of charts (--helm-chart-max-size, --helm-chart-file-max-size).
const (
	DefaultHelmChartMaxSize     = 10 << 20
	DefaultHelmChartFileMaxSize = 5 << 20
)

// HelmChartOptions configures SetupHelmChart.
type HelmChartOptions struct {
	// ControllerName is the field owner and event reporter.
	ControllerName string
	// ControllerOptions are the concurrency and retry backoff.
	reconcile.ControllerOptions
	// ChartMaxSize and ChartFileMaxSize bound downloaded charts.
	ChartMaxSize, ChartFileMaxSize int64
	// IndexCache shares parsed repository indexes between charts.
	IndexCache *helm.IndexCache
	// Shard names the controller's --watch-label-selector in reference
	// messages (zero: not sharded).
	Shard reconcile.Shard
}

// HelmChartReconciler stores a chart from a HelmRepository (by version
// constraint) or from a GitRepository/Bucket artifact (packaged at a path).
type HelmChartReconciler struct {
	// Client reads HelmCharts, their sources and Secrets.
	Client client.Client
	// Events posts NewArtifact events.
	Events events.Recorder
	// Storage holds and serves the artifacts; sources' artifacts are read from it too.
	Storage *artifact.Storage
	// Fetcher downloads Git/Bucket source artifacts.
	Fetcher *artifact.Fetcher
	// IndexCache shares parsed repository indexes.
	IndexCache *helm.IndexCache
	// ChartMaxSize and ChartFileMaxSize bound charts.
	ChartMaxSize, ChartFileMaxSize int64
	// Shard names the controller's shard when a source is not found.
	Shard reconcile.Shard
}

// SetupHelmChart registers the HelmChart reconciler; charts are
// reconciled again when their source publishes a new artifact.
func SetupHelmChart(mgr ctrl.Manager, rec events.Recorder, storage *artifact.Storage, o HelmChartOptions) error {
	if o.ChartMaxSize <= 0 {
		o.ChartMaxSize = DefaultHelmChartMaxSize
	}
	if o.ChartFileMaxSize <= 0 {
		o.ChartFileMaxSize = DefaultHelmChartFileMaxSize
	}
	if o.IndexCache == nil {
		o.IndexCache = &helm.IndexCache{TTL: 15 * 60e9}
	}
	kind := &HelmChartReconciler{Client: mgr.GetClient(), Events: rec, Storage: storage, IndexCache: o.IndexCache,
		ChartMaxSize: o.ChartMaxSize, ChartFileMaxSize: o.ChartFileMaxSize, Fetcher: artifact.NewFetcher(3, 60e9, 0), Shard: o.Shard}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &sourcev1.HelmChart{}, helmChartSourceIndex,
		func(o client.Object) []string {
			hc := o.(*sourcev1.HelmChart)
			return []string{hc.Spec.SourceRef.Kind + "/" + hc.Spec.SourceRef.Name}
		}); err != nil {
		return err
	}
	var watches []reconcile.Watch
	for srcKind, obj := range map[string]client.Object{sourcev1.HelmRepositoryKind: &sourcev1.HelmRepository{},
		sourcev1.GitRepositoryKind: &sourcev1.GitRepository{}, sourcev1.BucketKind: &sourcev1.Bucket{}} {
		watches = append(watches, reconcile.Watches(obj, handler.EnqueueRequestsFromMapFunc(kind.chartsOf(mgr.GetClient(), srcKind)),
			builder.WithPredicates(predicates.SourceRevisionChanged{})))
	}
	return setupKind[sourcev1.HelmChart](mgr, rec, o.ControllerName, o.ControllerOptions, helmChartNegative, kind, watches...)
}

// chartsOf maps a source to the HelmCharts that use it.
func (r *HelmChartReconciler) chartsOf(c client.Client, kind string) handler.MapFunc {
	return func(ctx context.Context, src client.Object) []ctrlreconcile.Request {
		var list sourcev1.HelmChartList
		if err := c.List(ctx, &list, client.InNamespace(src.GetNamespace()),
			client.MatchingFields{helmChartSourceIndex: kind + "/" + src.GetName()}); err != nil {
			return nil
		}
		reqs := make([]ctrlreconcile.Request, 0, len(list.Items))
		for _, hc := range list.Items {
			reqs = append(reqs, ctrlreconcile.Request{NamespacedName: client.ObjectKeyFromObject(&hc)})
		}
		return reqs
	}
}

// Reconcile runs the HelmChart steps in order: forget a lost stored
// artifact, build the chart from its source (a repository's chart
// version, or a chart packaged from a Git or Bucket artifact), then store
// it when the chart version, source revision or values files changed.
func (r *HelmChartReconciler) Reconcile(ctx context.Context, obj *sourcev1.HelmChart) (string, string, error) {
	run := &helmChartRun{r: r}
	err := reconcile.RunSteps(ctx, obj,
		reconcile.Step[*sourcev1.HelmChart]{Name: "storage", Run: run.checkStorage},
		reconcile.Step[*sourcev1.HelmChart]{Name: "build", Run: run.build},
		reconcile.Step[*sourcev1.HelmChart]{Name: "artifact", Run: run.storeChart},
	)
	if err != nil {
		return "", "", err
	}
	b := run.chart
	name := obj.Spec.Chart // an up-to-date chart is not loaded again
	if b.chart != nil {
		name = b.chart.Name()
	}
	return meta.SucceededReason, fmt.Sprintf("%s chart '%s' with version '%s'", b.verb, name, obj.Status.Artifact.Revision), nil
}

// helmChartRun is the state one HelmChart reconcile passes from step to
// step.
type helmChartRun struct {
	r     *HelmChartReconciler
	chart *chartBuild
}

// checkStorage forgets a status artifact whose file has gone, so it is
// stored again.
func (run *helmChartRun) checkStorage(_ context.Context, obj *sourcev1.HelmChart) error {
	forgetLostArtifact(run.r.Storage, &obj.Status.Artifact)
	return nil
}

// build gets the chart from the kind of source spec.sourceRef names.
func (run *helmChartRun) build(ctx context.Context, obj *sourcev1.HelmChart) error {
	var err error
	switch obj.Spec.SourceRef.Kind {
	case sourcev1.HelmRepositoryKind:
		run.chart, err = run.r.fromRepository(ctx, obj)
	case sourcev1.GitRepositoryKind, sourcev1.BucketKind:
		if obj.Spec.Verify != nil {
			return markFetchFailed(obj, reconcile.Stall(verificationNotSupportedReason,
				"spec.verify is only supported for charts from OCI HelmRepositories, not from a %s", obj.Spec.SourceRef.Kind))
		}
		run.chart, err = run.r.fromArtifact(ctx, obj)
	default:
		err = reconcile.Stall("UnsupportedSourceKind", "source kind %q is not supported", obj.Spec.SourceRef.Kind)
	}
	return err
}

// storeChart stores the built chart (see store).
func (run *helmChartRun) storeChart(ctx context.Context, obj *sourcev1.HelmChart) error {
	return run.r.store(ctx, obj, run.chart)
}

// Finalize removes the stored charts.
func (r *HelmChartReconciler) Finalize(_ context.Context, obj *sourcev1.HelmChart) error {
	return removeArtifacts(r.Storage, obj.Status.Artifact)
}
