package fleet

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	helmchart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	repo "helm.sh/helm/v4/pkg/repo/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// maxChartBytes bounds what one index or chart download may read.
const maxChartBytes = 64 << 20

// fetchTimeout bounds one download: a slow repository is reported as
// unreachable rather than stalling the check.
const fetchTimeout = 30 * time.Second

// fetchChart downloads a chart from the HelmRepository key (declared in
// the repository) as source-controller would: from an HTTP repository the
// version of its index that matches spec.version, from an OCI one (see
// fetchOCIChart) the matching tag. A repository that cannot
// be reached, or is not fetched with --offline, is a skip.
func (d *discoverer) fetchChart(key string, spec helmv2.HelmChartTemplateSpec) (*helmchart.Chart, string, error) {
	what := fmt.Sprintf("chart %s from %s", spec.Chart, key)
	repoObj := d.vars.find(key)
	if repoObj == nil {
		return nil, what + " is not fetched: the HelmRepository is not declared in this repository", nil
	}
	if d.offline {
		return nil, what + " is not fetched (--offline)", nil
	}
	repoURL, _, _ := unstructured.NestedString(repoObj.Object, "spec", "url")
	repoType, _, _ := unstructured.NestedString(repoObj.Object, "spec", "type")
	if _, auth, _ := unstructured.NestedFieldNoCopy(repoObj.Object, "spec", "secretRef"); auth {
		return nil, what + " is not fetched: the HelmRepository needs credentials", nil
	}
	if repoType == "oci" || strings.HasPrefix(repoURL, "oci://") {
		return d.fetchOCIChart(key, repoObj, spec)
	}
	version := spec.Version
	if version == "" {
		version = "*"
	}
	if c, ok := d.charts[repoURL+"|"+spec.Chart+"|"+version]; ok {
		return c, "", nil
	}
	client := &http.Client{Timeout: fetchTimeout}
	base, err := url.Parse(strings.TrimSuffix(repoURL, "/") + "/")
	if err != nil {
		return nil, "", fmt.Errorf("HelmRepository %s: url %q: %w", key, repoURL, err)
	}
	data, err := download(client, base.JoinPath("index.yaml").String())
	if err != nil {
		return nil, what + " is not fetched: the repository is unreachable: " + err.Error(), nil
	}
	idx := &repo.IndexFile{}
	if err := yaml.Unmarshal(data, idx); err != nil {
		return nil, "", fmt.Errorf("HelmRepository %s: index.yaml: %w", key, err)
	}
	idx.SortEntries()
	cv, err := idx.Get(spec.Chart, version)
	if err != nil {
		return nil, "", fmt.Errorf("%s version %q: %w", what, version, err)
	}
	if len(cv.URLs) == 0 {
		return nil, "", fmt.Errorf("%s %s: the index lists no URL", what, cv.Version)
	}
	ref, err := url.Parse(cv.URLs[0])
	if err != nil {
		return nil, "", fmt.Errorf("%s %s: url %q: %w", what, cv.Version, cv.URLs[0], err)
	}
	data, err = download(client, base.ResolveReference(ref).String())
	if err != nil {
		return nil, what + " is not fetched: the repository is unreachable: " + err.Error(), nil
	}
	chrt, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, "", fmt.Errorf("%s %s: %w", what, cv.Version, err)
	}
	d.charts[repoURL+"|"+spec.Chart+"|"+version] = chrt
	return chrt, "", nil
}

func download(c *http.Client, u string) ([]byte, error) {
	resp, err := c.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxChartBytes+1))
	if err == nil && len(data) > maxChartBytes {
		err = fmt.Errorf("GET %s: more than %d bytes", u, maxChartBytes)
	}
	return data, err
}
