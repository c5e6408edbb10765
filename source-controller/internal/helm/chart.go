package helm

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
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

// LoadDir loads the chart at chartPath inside root (a source checkout);
// the path cannot leave root.
func LoadDir(root, chartPath string, maxFileBytes int64) (*chart.Chart, error) {
	dir, err := securepath.Join(root, chartPath)
	if err != nil {
		return nil, fmt.Errorf("chart path %q: %w", chartPath, err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("chart path %q not found in the source", chartPath)
	}
	ch, err := loader.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, dep := range ch.Metadata.Dependencies {
		if !hasDependency(ch, dep.Name) {
			return nil, fmt.Errorf("dependency %q of chart %q is not in its charts/ folder: fetching dependencies is not supported yet, vendor it with `helm dependency build`",
				dep.Name, ch.Name())
		}
	}
	if err := checkFileSizes(ch, maxFileBytes); err != nil {
		return nil, err
	}
	return ch, nil
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
	for _, f := range append(append([]*chart.File{}, ch.Raw...), ch.Files...) {
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
		clean := strings.TrimPrefix(filepath.ToSlash(filepath.Clean(name)), "./")
		if strings.HasPrefix(clean, "../") || filepath.IsAbs(name) {
			return nil, fmt.Errorf("values file %q is outside the chart", name)
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
		merged = chartutil.CoalesceTables(values, merged)
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
	for _, f := range append(append([]*chart.File{}, ch.Raw...), ch.Files...) {
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
