package helm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"

	helmcommon "helm.sh/helm/v4/pkg/chart/common"
	valuesutil "helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"sigs.k8s.io/yaml"

	"gotk.dev/pkg/artifact/securepath"
)

// LoadArchive parses a packaged chart, refusing any file in it larger than
// maxFileBytes (0: no limit).
func LoadArchive(data []byte, maxFileBytes int64) (*chart.Chart, error) {
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if err := checkFileSizes(ch, maxFileBytes); err != nil {
		return nil, err
	}
	return ch, nil
}

// RemoteError is a dependency download failure: worth retrying, unlike a
// broken chart in the source.
type RemoteError struct{ Err error }

func (e *RemoteError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *RemoteError) Unwrap() error { return e.Err }

// RemoteChart fetches chart name matching version from a dependency's
// repository as Chart.yaml spells it: an http(s):// or oci:// URL or a
// repository alias ("@name" or "alias:name", see RepositoryAlias).
type RemoteChart func(ctx context.Context, repository, name, version string) (*chart.Chart, error)

// RepositoryAlias returns the repository name of a dependency declared by
// alias ("@name" or "alias:name"), as `helm repo add name` would name it.
func RepositoryAlias(repository string) (string, bool) {
	for _, prefix := range []string{"@", "alias:"} {
		if name, ok := strings.CutPrefix(repository, prefix); ok && name != "" {
			return name, true
		}
	}
	return "", false
}

// LoadDir loads the chart at chartPath inside root (a source checkout);
// the path cannot leave root. Dependencies not vendored in charts/ are
// resolved: file:// ones from the source (never outside root), http(s)://,
// oci:// and alias ones with remote; other repository forms are reported
// as not supported. Every file is read through an os.Root on root.
func LoadDir(ctx context.Context, root, chartPath string, maxFileBytes int64, remote RemoteChart) (*chart.Chart, error) {
	r, err := securepath.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return loadDir(ctx, r, chartPath, maxFileBytes, remote, 0)
}

// maxDependencyDepth bounds file:// dependency chains (a cycle would
// never end otherwise).
const maxDependencyDepth = 32

func loadDir(ctx context.Context, root *securepath.Root, chartPath string, maxFileBytes int64, remote RemoteChart, depth int) (*chart.Chart, error) {
	if depth > maxDependencyDepth {
		return nil, fmt.Errorf("chart path %q: file:// dependencies nest deeper than %d", chartPath, maxDependencyDepth)
	}
	dir, err := securepath.Clean(chartPath)
	if err != nil {
		return nil, fmt.Errorf("chart path %q: %w", chartPath, err)
	}
	sub, err := root.OpenRoot(dir)
	if err != nil {
		if errors.Is(err, securepath.ErrEscape) {
			return nil, fmt.Errorf("chart path %q: %w", chartPath, err)
		}
		return nil, fmt.Errorf("chart path %q not found in the source", chartPath)
	}
	defer sub.Close()
	ch, err := loadChartFiles(sub, maxFileBytes)
	if err != nil {
		return nil, err
	}
	if err := checkFileSizes(ch, maxFileBytes); err != nil {
		return nil, err
	}
	for _, dep := range ch.Metadata.Dependencies {
		if hasDependency(ch, dep.Name) {
			continue
		}
		subChart, err := resolveDependency(ctx, root, dir, dep, maxFileBytes, remote, depth)
		if err != nil {
			return nil, fmt.Errorf("dependency %q of chart %q: %w", dep.Name, ch.Name(), err)
		}
		ch.AddDependency(subChart)
	}
	return ch, nil
}

// resolveDependency loads one dependency from the source or a repository.
func resolveDependency(ctx context.Context, root *securepath.Root, chartDir string, dep *chart.Dependency, maxFileBytes int64, remote RemoteChart, depth int) (*chart.Chart, error) {
	switch repo := dep.Repository; {
	case repo == "" || strings.HasPrefix(repo, "file://"):
		// Relative to the chart, lexically; loadDir refuses what leaves root.
		return loadDir(ctx, root, path.Join(chartDir, strings.TrimPrefix(repo, "file://")), maxFileBytes, remote, depth+1)
	case strings.HasPrefix(repo, "http://") || strings.HasPrefix(repo, "https://") || strings.HasPrefix(repo, "oci://") || isAlias(repo):
		if remote == nil {
			return nil, fmt.Errorf("fetching from %s is not enabled", repo)
		}
		ch, err := remote(ctx, repo, dep.Name, dep.Version)
		if err != nil {
			return nil, &RemoteError{Err: err}
		}
		return ch, nil
	default:
		return nil, fmt.Errorf("repository %q is not supported yet (use file://, an http(s):// or oci:// repository URL or a HelmRepository alias, or vendor it with `helm dependency build`)", repo)
	}
}

func isAlias(repository string) bool {
	_, ok := RepositoryAlias(repository)
	return ok
}

// FetchChart returns a RemoteChart that downloads anonymously from public
// HTTP(S) repositories with the given limits; it knows no aliases.
func FetchChart(indexMax, chartMax, fileMax int64) RemoteChart {
	return func(ctx context.Context, repoURL, name, version string) (*chart.Chart, error) {
		if isAlias(repoURL) || !strings.HasPrefix(repoURL, "http://") && !strings.HasPrefix(repoURL, "https://") {
			return nil, fmt.Errorf("repository %q is not an HTTP(S) Helm repository", repoURL)
		}
		g := &Getter{RepoURL: repoURL}
		index, err := FetchIndex(ctx, g, indexMax, "")
		if err != nil {
			return nil, err
		}
		defer index.Remove()
		parsed, err := LoadCompactIndexFile(index.Path)
		if err != nil {
			return nil, err
		}
		if version == "" {
			version = "*"
		}
		cv, err := parsed.Get(name, version)
		if err != nil {
			return nil, fmt.Errorf("no version of %q matches %q in %s: %w", name, version, repoURL, err)
		}
		if len(cv.URLs) == 0 {
			return nil, fmt.Errorf("%s %s has no download URL in %s", name, cv.Version, repoURL)
		}
		u, err := ResolveURL(repoURL, cv.URLs[0])
		if err != nil {
			return nil, err
		}
		data, err := g.Get(ctx, u, chartMax)
		if err != nil {
			return nil, err
		}
		return LoadArchive(data, fileMax)
	}
}

// ResolveURL makes an index URL absolute against the repository URL.
func ResolveURL(repoURL, chartURL string) (string, error) {
	u, err := url.Parse(chartURL)
	if err != nil {
		return "", fmt.Errorf("chart URL %q: %w", chartURL, err)
	}
	if u.IsAbs() {
		return chartURL, nil
	}
	base, err := url.Parse(strings.TrimSuffix(repoURL, "/") + "/")
	if err != nil {
		return "", fmt.Errorf("repository URL %q: %w", repoURL, err)
	}
	return base.ResolveReference(u).String(), nil
}

func hasDependency(ch *chart.Chart, name string) bool {
	for _, d := range ch.Dependencies() {
		if d.Name() == name {
			return true
		}
	}
	return false
}

func checkFileSizes(ch *chart.Chart, max int64) error {
	if max <= 0 {
		return nil
	}
	for _, f := range append(append([]*helmcommon.File{}, ch.Raw...), ch.Files...) {
		if int64(len(f.Data)) > max {
			return fmt.Errorf("file %q of chart %q is %d bytes, over the limit of %d", f.Name, ch.Name(), len(f.Data), max)
		}
	}
	return nil
}

// MergeValuesFiles sets the chart's values to its values files merged in
// order (later files win), as HelmChart's valuesFiles does. A missing file
// is an error unless ignoreMissing; it returns the files actually used.
func MergeValuesFiles(ch *chart.Chart, files []string, ignoreMissing bool) ([]string, error) {
	merged := map[string]any{}
	var used []string
	for _, name := range files {
		clean, err := securepath.Clean(name)
		if err != nil {
			return nil, fmt.Errorf("values file %q is outside the chart: %w", name, err)
		}
		data, ok := chartFile(ch, clean)
		if !ok {
			if ignoreMissing {
				continue
			}
			return nil, fmt.Errorf("values file %q not found in chart %q", name, ch.Name())
		}
		values := map[string]any{}
		if err := yaml.Unmarshal(data, &values); err != nil {
			return nil, fmt.Errorf("values file %q: %w", name, err)
		}
		merged = valuesutil.CoalesceTables(values, merged)
		used = append(used, name)
	}
	ch.Values = merged
	raw, err := yaml.Marshal(merged)
	if err != nil {
		return nil, err
	}
	for _, f := range ch.Raw {
		if f.Name == chartutil.ValuesfileName {
			f.Data = raw
		}
	}
	return used, nil
}

func chartFile(ch *chart.Chart, name string) ([]byte, bool) {
	for _, f := range append(append([]*helmcommon.File{}, ch.Raw...), ch.Files...) {
		if f.Name == name {
			return f.Data, true
		}
	}
	return nil, false
}

// Package writes the chart as <name>-<version>.tgz into dir and returns its path.
func Package(ch *chart.Chart, dir string) (string, error) {
	return chartutil.Save(ch, dir)
}
