package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	helmchart "helm.sh/helm/v4/pkg/chart/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"gotk.dev/pkg/apis"
	helmv2 "gotk.dev/pkg/apis/helm/v2"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/artifact"
	"gotk.dev/pkg/runtime/reconcile"

	"gotk.dev/helm-controller/internal/chart"
	"gotk.dev/pkg/helm/values"
)

// Reasons this controller adds to the API's.
const (
	// ReasonValuesError: valuesFrom or values could not be composed.
	ReasonValuesError = "ValuesError"
	// ReasonHelmChartFailed: the HelmChart for spec.chart could not be
	// created or updated.
	ReasonHelmChartFailed = "HelmChartFailed"
	// ReasonDriftDetectionFailed: the cluster could not be compared with
	// the release manifest.
	ReasonDriftDetectionFailed = "DriftDetectionFailed"
	// ReasonUnsupported: a field the controller cannot honour.
	ReasonUnsupported = "Unsupported"
)

// releaseRun is one reconcile of one HelmRelease: what the steps found,
// handed from step to step.
type releaseRun struct {
	r *HelmReleaseReconciler

	sourceKind   string
	artifact     *meta.Artifact
	chart        *helmchart.Chart
	values       map[string]any
	valuesDigest string

	readyReason, readyMessage string
}

// checkDependencies waits until every HelmRelease in spec.dependsOn is
// Ready for its current generation.
func (run *releaseRun) checkDependencies(ctx context.Context, obj *helmv2.HelmRelease) error {
	for i, dep := range obj.Spec.DependsOn {
		ns := dep.Namespace
		if ns == "" {
			ns = obj.Namespace
		}
		if err := reconcile.CrossNamespaceRef(run.r.NoCrossNamespaceRefs, obj.Namespace,
			fmt.Sprintf("spec.dependsOn[%d]", i), helmv2.HelmReleaseKind, ns, dep.Name); err != nil {
			return err
		}
		var d helmv2.HelmRelease
		err := run.r.allShards().Get(ctx, types.NamespacedName{Namespace: ns, Name: dep.Name}, &d)
		switch {
		case apierrors.IsNotFound(err):
			return reconcile.Wait(run.r.depRequeue(), helmv2.DependencyNotReadyReason, "%s", run.r.Shard.NotFound(fmt.Sprintf("dependency '%s/%s'", ns, dep.Name)))
		case err != nil:
			return reconcile.Retry(helmv2.DependencyNotReadyReason, "dependency '%s/%s': %w", ns, dep.Name, err)
		case d.Generation != d.Status.ObservedGeneration || !conditions.IsReady(&d):
			return reconcile.Wait(run.r.depRequeue(), helmv2.DependencyNotReadyReason, "dependency '%s/%s' is not ready%s", ns, dep.Name, run.r.Shard.Elsewhere(d.Labels))
		}
	}
	return nil
}

func (r *HelmReleaseReconciler) depRequeue() time.Duration {
	if r.DependencyRequeue > 0 {
		return r.DependencyRequeue
	}
	return DefaultDependencyRequeue
}

// reconcileChartTemplate creates or updates the HelmChart '<ns>-<name>'
// of spec.chart in the source's namespace, and deletes the one left from
// a previous spec.chart when the release now uses chartRef.
func (run *releaseRun) reconcileChartTemplate(ctx context.Context, obj *helmv2.HelmRelease) error {
	if obj.Spec.Chart == nil {
		if obj.Status.HelmChart != "" {
			if err := run.deleteHelmChart(ctx, obj); err != nil {
				return reconcile.Retry(ReasonHelmChartFailed, "%w", err)
			}
		}
		return nil
	}
	tpl := obj.Spec.Chart
	// Checked before the HelmChart is made in the source's namespace.
	if err := reconcile.CrossNamespaceRef(run.r.NoCrossNamespaceRefs, obj.Namespace, "spec.chart.spec.sourceRef",
		tpl.Spec.SourceRef.Kind, tpl.GetNamespace(obj.Namespace), tpl.Spec.SourceRef.Name); err != nil {
		return err
	}
	hc := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Name: obj.GetHelmChartName(), Namespace: tpl.GetNamespace(obj.Namespace)}}
	if old := obj.Status.HelmChart; old != "" && old != hc.Namespace+"/"+hc.Name {
		if err := run.deleteHelmChart(ctx, obj); err != nil {
			return reconcile.Retry(ReasonHelmChartFailed, "%w", err)
		}
	}
	_, err := controllerutil.CreateOrUpdate(ctx, run.r.Client, hc, func() error {
		labels := map[string]string{}
		annotations := map[string]string{}
		if tpl.ObjectMeta != nil {
			for k, v := range tpl.ObjectMeta.Labels {
				labels[k] = v
			}
			for k, v := range tpl.ObjectMeta.Annotations {
				annotations[k] = v
			}
		}
		labels[helmv2.NameLabel] = obj.Name
		labels[helmv2.NamespaceLabel] = obj.Namespace
		// The chart goes to the source-controller of the release's shard,
		// unless the template names a shard of its own.
		if key, ok := obj.Labels[apis.ShardKeyLabel]; ok {
			if _, set := labels[apis.ShardKeyLabel]; !set {
				labels[apis.ShardKeyLabel] = key
			}
		}
		hc.Labels, hc.Annotations = labels, annotations
		version := tpl.Spec.Version
		if version == "" {
			version = "*"
		}
		hc.Spec = sourcev1.HelmChartSpec{
			Chart:   tpl.Spec.Chart,
			Version: version,
			SourceRef: sourcev1.LocalHelmChartSourceReference{
				APIVersion: tpl.Spec.SourceRef.APIVersion, Kind: tpl.Spec.SourceRef.Kind, Name: tpl.Spec.SourceRef.Name,
			},
			Interval:                 tpl.GetInterval(obj.Spec.Interval),
			ReconcileStrategy:        tpl.Spec.ReconcileStrategy,
			ValuesFiles:              tpl.Spec.ValuesFiles,
			IgnoreMissingValuesFiles: tpl.Spec.IgnoreMissingValuesFiles,
			Suspend:                  obj.Spec.Suspend,
		}
		if v := tpl.Spec.Verify; v != nil {
			hc.Spec.Verify = &sourcev1.OCIVerification{Provider: v.Provider, SecretRef: v.SecretRef}
		}
		return nil
	})
	if err != nil {
		return reconcile.Retry(ReasonHelmChartFailed, "creating or updating HelmChart %s/%s: %w", hc.Namespace, hc.Name, err)
	}
	obj.Status.HelmChart = hc.Namespace + "/" + hc.Name
	return nil
}

// deleteHelmChart deletes the HelmChart recorded in status.helmChart.
func (run *releaseRun) deleteHelmChart(ctx context.Context, obj *helmv2.HelmRelease) error {
	ns, name, ok := strings.Cut(obj.Status.HelmChart, "/")
	if !ok {
		obj.Status.HelmChart = ""
		return nil
	}
	hc := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := run.r.Client.Delete(ctx, hc); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting HelmChart %s: %w", obj.Status.HelmChart, err)
	}
	obj.Status.HelmChart = ""
	return nil
}

// loadChart finds the chart source (chartRef, or the generated HelmChart),
// waits for its artifact, and loads the chart through the shared loader:
// downloaded and verified once per digest, parsed in memory.
func (run *releaseRun) loadChart(ctx context.Context, obj *helmv2.HelmRelease) error {
	var kind, ns, name string
	switch {
	case obj.Spec.ChartRef != nil:
		kind, ns, name = obj.Spec.ChartRef.Kind, obj.Spec.ChartRef.Namespace, obj.Spec.ChartRef.Name
		if ns == "" {
			ns = obj.Namespace
		}
		if err := reconcile.CrossNamespaceRef(run.r.NoCrossNamespaceRefs, obj.Namespace, "spec.chartRef", kind, ns, name); err != nil {
			return err
		}
	case obj.Spec.Chart != nil:
		kind, ns, name = sourcev1.HelmChartKind, obj.Spec.Chart.GetNamespace(obj.Namespace), obj.GetHelmChartName()
	default:
		return reconcile.Stall(helmv2.InvalidChartReferenceReason, "neither spec.chart nor spec.chartRef is set")
	}
	var src interface {
		client.Object
		GetArtifact() *meta.Artifact
	}
	switch kind {
	case sourcev1.HelmChartKind:
		src = &sourcev1.HelmChart{}
	case sourcev1.OCIRepositoryKind:
		src = &sourcev1.OCIRepository{}
	case sourcev1.ExternalArtifactKind:
		src = &sourcev1.ExternalArtifact{}
	default:
		return reconcile.Stall(helmv2.InvalidChartReferenceReason, "chartRef kind %q is not supported (want HelmChart, OCIRepository or ExternalArtifact)", kind)
	}
	if err := run.r.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, src); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Wait(run.r.depRequeue(), helmv2.ArtifactFailedReason, "%s", run.r.Shard.NotFound(fmt.Sprintf("chart source %s '%s/%s'", kind, ns, name)))
		}
		return reconcile.Retry(helmv2.ArtifactFailedReason, "getting chart source %s '%s/%s': %w", kind, ns, name, err)
	}
	art := src.GetArtifact()
	if art == nil {
		msg := "no artifact yet"
		if c, ok := src.(conditions.Getter); ok {
			if m := conditions.GetMessage(c, meta.ReadyCondition); m != "" && !conditions.IsReady(c) {
				msg = "not ready: " + m
			}
		}
		return reconcile.Wait(run.r.depRequeue(), helmv2.ArtifactFailedReason, "chart source %s '%s/%s' has %s", kind, ns, name, msg)
	}
	c, err := run.r.Charts.Load(ctx, art.URL, art.Digest)
	if err != nil {
		var le *chart.LoadError
		if errors.As(err, &le) {
			return reconcile.Stall(helmv2.ArtifactFailedReason, "chart source %s '%s/%s' revision %s: %w", kind, ns, name, art.Revision, err)
		}
		var fe *artifact.FetchError
		if errors.As(err, &fe) && errors.Is(err, artifact.ErrNotFound) {
			return reconcile.Wait(run.r.depRequeue(), helmv2.ArtifactFailedReason, "%w", err)
		}
		return reconcile.Retry(helmv2.ArtifactFailedReason, "%w", err)
	}
	run.sourceKind, run.artifact, run.chart = kind, art, c
	return nil
}

// composeValues merges valuesFrom and values and digests the result.
func (run *releaseRun) composeValues(ctx context.Context, obj *helmv2.HelmRelease) error {
	var inline map[string]any
	if v := obj.Spec.Values; v != nil && len(v.Raw) > 0 && string(v.Raw) != "null" {
		if err := json.Unmarshal(v.Raw, &inline); err != nil {
			return reconcile.Stall(ReasonValuesError, "spec.values must be an object: %v", err)
		}
	}
	vals, err := values.Compose(ctx, run.r.Client, obj.Namespace, obj.Spec.ValuesFrom, inline)
	if err != nil {
		var re *values.RefError
		if errors.As(err, &re) {
			return reconcile.Wait(run.r.depRequeue(), ReasonValuesError, "%v", err)
		}
		return reconcile.Retry(ReasonValuesError, "%v", err)
	}
	run.values = vals
	run.valuesDigest = values.Digest(vals)
	return nil
}
