package controller

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/artifact/tarball"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/source-controller/internal/helm"
)

// Reasons of HelmChart failures.
const (
	sourceUnavailableReason = "SourceUnavailable"
	chartPullFailedReason   = "ChartPullFailed"
	chartBuildFailedReason  = "ChartPackageFailed"
)

// chartBuild is a chart ready to store, or nothing to do (upToDate).
type chartBuild struct {
	chart          *chart.Chart
	version        string   // the artifact revision
	sourceRevision string   // the source artifact it came from
	data           []byte   // the packaged chart as pulled; nil means package chart
	valuesFiles    []string // values files merged in
	verb           string   // "pulled" or "packaged", for messages
	upToDate       bool
}

// fromRepository picks the chart version from the repository's stored
// index (parsed once per index digest) and downloads it.
func (r *HelmChartReconciler) fromRepository(ctx context.Context, obj *sourcev1.HelmChart) (*chartBuild, error) {
	var hr sourcev1.HelmRepository
	if err := r.source(ctx, obj, &hr); err != nil {
		return nil, err
	}
	if hr.Spec.Type == "oci" {
		return r.fromOCIRepository(ctx, obj, &hr)
	}
	if obj.Spec.Verify != nil {
		return nil, markFetchFailed(obj, reconcile.Stall(verificationNotSupportedReason,
			"spec.verify is only supported for charts from OCI HelmRepositories; HelmRepository '%s' is of type default", hr.Name))
	}
	art := hr.Status.Artifact
	if art == nil {
		return nil, reconcile.Wait(10e9, sourceUnavailableReason, "HelmRepository '%s' has no artifact yet", hr.Name)
	}
	constraint := obj.Spec.Version
	if constraint == "" {
		constraint = "*"
	}
	cv, err := r.resolveInRepository(&hr, obj.Spec.Chart, constraint)
	if err != nil {
		return nil, markFetchFailed(obj, reconcile.Retry(chartPullFailedReason, "%v", err))
	}
	b := &chartBuild{version: cv.Version, sourceRevision: art.Revision, verb: "pulled"}
	if r.upToDate(obj, b.version, "") {
		b.upToDate = true
		return b, nil
	}
	data, err := r.downloadFromRepository(ctx, &hr, cv)
	if err != nil {
		return nil, markFetchFailed(obj, err)
	}
	conditions.Delete(obj, sourcev1.FetchFailedCondition)
	if b.chart, err = helm.LoadArchive(data, r.ChartFileMaxSize); err != nil {
		return nil, markBuildFailed(obj, reconcile.Retry(chartBuildFailedReason, "chart '%s' %s: %v", cv.Name, cv.Version, err))
	}
	b.data = data
	return b, r.mergeValues(obj, b)
}

// fromArtifact packages the chart at spec.chart of a GitRepository or
// Bucket artifact.
func (r *HelmChartReconciler) fromArtifact(ctx context.Context, obj *sourcev1.HelmChart) (*chartBuild, error) {
	var src sourcev1.Source
	switch obj.Spec.SourceRef.Kind {
	case sourcev1.GitRepositoryKind:
		src = &sourcev1.GitRepository{}
	default:
		src = &sourcev1.Bucket{}
	}
	if err := r.source(ctx, obj, src.(client.Object)); err != nil {
		return nil, err
	}
	art := src.GetArtifact()
	if art == nil {
		return nil, reconcile.Wait(10e9, sourceUnavailableReason, "%s '%s' has no artifact yet", obj.Spec.SourceRef.Kind, obj.Spec.SourceRef.Name)
	}
	if r.upToDate(obj, "", art.Revision) {
		return &chartBuild{version: obj.Status.Artifact.Revision, sourceRevision: art.Revision, upToDate: true, verb: "packaged"}, nil
	}
	dir, err := os.MkdirTemp("", "helmchart-source-")
	if err != nil {
		return nil, markStorageFailed(obj, sourcev1.DirCreationFailedReason, err)
	}
	defer os.RemoveAll(dir)
	if err := r.extract(*art, dir); err != nil {
		return nil, markFetchFailed(obj, reconcile.Retry(sourcev1.ReadOperationFailedReason, "reading the artifact of %s '%s': %v",
			obj.Spec.SourceRef.Kind, obj.Spec.SourceRef.Name, err))
	}
	conditions.Delete(obj, sourcev1.FetchFailedCondition)
	ch, err := helm.LoadDir(ctx, dir, obj.Spec.Chart, r.ChartFileMaxSize, r.dependencyCharts(obj.Namespace))
	if err != nil {
		var remote *helm.RemoteError
		if errors.As(err, &remote) {
			return nil, markBuildFailed(obj, reconcile.Retry(chartBuildFailedReason, "%v", err))
		}
		return nil, markBuildFailed(obj, reconcile.Stall(chartBuildFailedReason, "%v", err))
	}
	version := ch.Metadata.Version
	if obj.Spec.ReconcileStrategy == "Revision" {
		version += "+" + shortRevision(art.Revision)
		ch.Metadata.Version = version
	}
	b := &chartBuild{chart: ch, version: version, sourceRevision: art.Revision, verb: "packaged"}
	return b, r.mergeValues(obj, b)
}

// source gets the referenced source object in the chart's namespace.
func (r *HelmChartReconciler) source(ctx context.Context, obj *sourcev1.HelmChart, into client.Object) error {
	key := client.ObjectKey{Namespace: obj.Namespace, Name: obj.Spec.SourceRef.Name}
	if err := r.Client.Get(ctx, key, into); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Wait(10e9, sourceUnavailableReason, "%s", r.Shard.NotInShard(fmt.Sprintf("%s '%s'", obj.Spec.SourceRef.Kind, key.Name)))
		}
		return reconcile.Retry(sourceUnavailableReason, "reading %s '%s': %v", obj.Spec.SourceRef.Kind, key.Name, err)
	}
	return nil
}

// extract unpacks a source artifact from this controller's own storage.
func (r *HelmChartReconciler) extract(art meta.Artifact, dir string) error {
	path, err := r.Storage.LocalPath(art)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return tarball.Untar(f, dir, tarball.DefaultLimits())
}

// upToDate reports whether the stored chart already is this version (or
// comes from this source revision) with the same chart and values files.
func (r *HelmChartReconciler) upToDate(obj *sourcev1.HelmChart, version, sourceRevision string) bool {
	a := obj.Status.Artifact
	if a == nil || obj.Status.ObservedChartName != obj.Spec.Chart || !slices.Equal(obj.Status.ObservedValuesFiles, obj.Spec.ValuesFiles) {
		return false
	}
	if version != "" {
		return a.Revision == version
	}
	return obj.Status.ObservedSourceArtifactRevision == sourceRevision
}

func (r *HelmChartReconciler) mergeValues(obj *sourcev1.HelmChart, b *chartBuild) error {
	if len(obj.Spec.ValuesFiles) == 0 {
		return nil
	}
	used, err := helm.MergeValuesFiles(b.chart, obj.Spec.ValuesFiles, obj.Spec.IgnoreMissingValuesFiles)
	if err != nil {
		return markBuildFailed(obj, reconcile.Stall(chartBuildFailedReason, "%v", err))
	}
	b.valuesFiles, b.data = used, nil
	return nil
}

// store writes the chart (as pulled, or packaged) and updates the status.
func (r *HelmChartReconciler) store(ctx context.Context, obj *sourcev1.HelmChart, b *chartBuild) error {
	conditions.Delete(obj, sourcev1.BuildFailedCondition)
	if b.upToDate {
		conditions.MarkTrue(obj, sourcev1.ArtifactInStorageCondition, sourcev1.ArtifactUpToDateReason, "artifact up-to-date with remote revision: '%s'", b.version)
		return nil
	}
	art := r.Storage.NewArtifactFor(sourcev1.HelmChartKind, obj, b.version, fmt.Sprintf("%s-%s.tgz", b.chart.Name(), b.version))
	unlock, err := r.Storage.Lock(art)
	if err != nil {
		return reconcile.Retry(sourcev1.AcquireLockFailedReason, "%v", err)
	}
	defer unlock()
	if err := r.Storage.MkdirAllFor(art); err != nil {
		return markStorageFailed(obj, sourcev1.DirCreationFailedReason, err)
	}
	if b.data != nil {
		err = r.Storage.AtomicWriteFile(&art, bytesReader(b.data), 0o644)
	} else {
		err = r.packageInto(&art, b.chart)
	}
	if err != nil {
		return markStorageFailed(obj, sourcev1.ArchiveOperationFailedReason, err)
	}
	url, err := r.Storage.Symlink(art, "latest.tar.gz")
	if err != nil {
		return markStorageFailed(obj, sourcev1.SymlinkUpdateFailedReason, err)
	}
	obj.Status.Artifact, obj.Status.URL = &art, url
	obj.Status.ObservedChartName = obj.Spec.Chart
	obj.Status.ObservedSourceArtifactRevision = b.sourceRevision
	obj.Status.ObservedValuesFiles = obj.Spec.ValuesFiles
	conditions.Delete(obj, sourcev1.StorageOperationFailedCondition)
	conditions.MarkTrue(obj, sourcev1.ArtifactInStorageCondition, meta.SucceededReason, "%s chart '%s' with version '%s'", b.verb, b.chart.Name(), b.version)
	if r.Events != nil {
		r.Events.AnnotatedEventf(obj, nil, map[string]string{sourcev1.GroupVersion.Group + "/revision": b.version},
			corev1.EventTypeNormal, "ChartPullSucceeded", "Build", "%s '%s' chart with version '%s'", b.verb, b.chart.Name(), b.version)
	}
	return collectGarbage(ctx, r.Storage, obj, art)
}

func (r *HelmChartReconciler) packageInto(art *meta.Artifact, ch *chart.Chart) error {
	dir, err := os.MkdirTemp("", "helmchart-package-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path, err := helm.Package(ch, dir)
	if err != nil {
		return fmt.Errorf("packaging: %w", err)
	}
	return r.Storage.CopyFromPath(art, path)
}

func markBuildFailed(obj conditions.Setter, err error) error {
	e := reconcile.Classify(err, chartBuildFailedReason)
	conditions.MarkTrue(obj, sourcev1.BuildFailedCondition, e.Reason, "%s", e.Error())
	return err
}

// shortRevision is the first 12 hex digits of a source revision
// ("main@sha1:abc…" or "sha256:abc…").
func shortRevision(rev string) string {
	if i := strings.LastIndex(rev, ":"); i >= 0 {
		rev = rev[i+1:]
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	return rev
}
