package controller

import (
	"context"
	"fmt"
	"strings"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/source-controller/internal/helm"
)

// resolveInRepository picks the newest version of chart matching
// constraint from hr's stored index, parsed once per index digest.
func (r *HelmChartReconciler) resolveInRepository(hr *sourcev1.HelmRepository, chartName, constraint string) (*helm.ChartVersion, error) {
	art := hr.Status.Artifact
	if art == nil {
		return nil, fmt.Errorf("HelmRepository '%s' has no artifact yet", hr.Name)
	}
	load := func() (*helm.CompactIndex, error) {
		path, err := r.Storage.LocalPath(*art)
		if err != nil {
			return nil, err
		}
		return helm.LoadCompactIndexFile(path)
	}
	cv, err := r.IndexCache.Resolve(art.Digest, chartName, constraint, load)
	if err != nil {
		return nil, fmt.Errorf("no chart version of '%s' matches '%s' in HelmRepository '%s': %v", chartName, constraint, hr.Name, err)
	}
	return cv, nil
}

// downloadFromRepository fetches the packaged chart cv lists, with hr's
// credentials and TLS settings, within the chart size limit.
func (r *HelmChartReconciler) downloadFromRepository(ctx context.Context, hr *sourcev1.HelmRepository, cv *helm.ChartVersion) ([]byte, error) {
	if len(cv.URLs) == 0 {
		return nil, reconcile.Retry(chartPullFailedReason, "chart '%s' %s has no download URL in the index", cv.Name, cv.Version)
	}
	chartURL, err := helm.ResolveURL(hr.Spec.URL, cv.URLs[0])
	if err != nil {
		return nil, reconcile.Retry(chartPullFailedReason, "%v", err)
	}
	getter, err := helmGetter(ctx, r.Client, hr)
	if err != nil {
		return nil, err
	}
	data, err := getter.Get(ctx, chartURL, r.ChartMaxSize)
	if err != nil {
		reason := chartPullFailedReason
		if helm.IsAuthError(err) {
			reason = sourcev1.AuthenticationFailedReason
		}
		return nil, reconcile.Retry(reason, "pulling chart '%s' %s: %v", cv.Name, cv.Version, err)
	}
	return data, nil
}

// dependencyCharts resolves the remote dependencies of a chart packaged
// from a source, as Flux does: an alias ("@name", "alias:name") names a
// HelmRepository of the HelmChart's namespace; a URL that a HelmRepository
// of the namespace declares goes through that repository's stored index
// (or, for oci://, its registry) and credentials; any other URL is fetched
// anonymously.
func (r *HelmChartReconciler) dependencyCharts(namespace string) helm.RemoteChart {
	anonymous := helm.FetchChart(DefaultHelmIndexMaxSize, r.ChartMaxSize, r.ChartFileMaxSize)
	return func(ctx context.Context, repository, name, version string) (*chart.Chart, error) {
		hr, err := r.dependencyRepository(ctx, namespace, repository)
		if err != nil {
			return nil, err
		}
		if hr == nil && strings.HasPrefix(repository, "oci://") {
			hr = &sourcev1.HelmRepository{Spec: sourcev1.HelmRepositorySpec{URL: repository, Type: "oci"}}
		}
		if hr == nil {
			return anonymous(ctx, repository, name, version)
		}
		if hr.Spec.Type == "oci" {
			return r.ociDependency(ctx, hr, name, version)
		}
		if version == "" {
			version = "*"
		}
		cv, err := r.resolveInRepository(hr, name, version)
		if err != nil {
			return nil, &helm.RemoteError{Err: err}
		}
		data, err := r.downloadFromRepository(ctx, hr, cv)
		if err != nil {
			return nil, &helm.RemoteError{Err: err}
		}
		return helm.LoadArchive(data, r.ChartFileMaxSize)
	}
}

// dependencyRepository finds the HelmRepository a dependency's repository
// refers to: by name for an alias (an error naming it when absent), by URL
// otherwise (nil when no HelmRepository declares it).
func (r *HelmChartReconciler) dependencyRepository(ctx context.Context, namespace, repository string) (*sourcev1.HelmRepository, error) {
	if alias, ok := helm.RepositoryAlias(repository); ok {
		var hr sourcev1.HelmRepository
		err := r.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: alias}, &hr)
		if apierrors.IsNotFound(err) {
			return nil, &helm.RemoteError{Err: fmt.Errorf("repository alias %q: no HelmRepository '%s' in namespace '%s'", repository, alias, namespace)}
		}
		if err != nil {
			return nil, &helm.RemoteError{Err: fmt.Errorf("repository alias %q: reading HelmRepository '%s': %w", repository, alias, err)}
		}
		return &hr, nil
	}
	var list sourcev1.HelmRepositoryList
	if err := r.Client.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, &helm.RemoteError{Err: fmt.Errorf("listing HelmRepositories: %w", err)}
	}
	want, wantOCI := normaliseRepoURL(repository), strings.HasPrefix(repository, "oci://")
	var found *sourcev1.HelmRepository
	for i := range list.Items {
		hr := &list.Items[i]
		if (hr.Spec.Type == "oci") != wantOCI || normaliseRepoURL(hr.Spec.URL) != want {
			continue
		}
		// Several may declare the URL, and a cached list has no order:
		// prefer one with credentials, then the first by name, so the
		// choice is the same on every reconcile.
		if found == nil || betterRepository(hr, found) {
			found = hr
		}
	}
	return found, nil
}

// betterRepository orders HelmRepositories declaring the same URL.
func betterRepository(a, b *sourcev1.HelmRepository) bool {
	if (a.Spec.SecretRef != nil) != (b.Spec.SecretRef != nil) {
		return a.Spec.SecretRef != nil
	}
	return a.Name < b.Name
}

// ociDependency pulls a dependency from an OCI HelmRepository (or, for an
// oci:// URL no HelmRepository declares, anonymously).
func (r *HelmChartReconciler) ociDependency(ctx context.Context, hr *sourcev1.HelmRepository, name, version string) (*chart.Chart, error) {
	t, err := r.ociChartTarget(ctx, hr, name, version)
	if err != nil {
		return nil, &helm.RemoteError{Err: err}
	}
	data, err := r.pullOCIChart(ctx, t, name)
	if err != nil {
		return nil, &helm.RemoteError{Err: err}
	}
	return helm.LoadArchive(data, r.ChartFileMaxSize)
}

// normaliseRepoURL makes "https://host/charts/" and "https://host/charts"
// the same repository.
func normaliseRepoURL(u string) string {
	return strings.TrimRight(u, "/")
}
