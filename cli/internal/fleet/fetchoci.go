package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	helmchart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	"gotk.dev/pkg/oci"
)

// fetchOCIChart pulls a chart from an OCI HelmRepository (spec.type oci)
// as source-controller does: <url>/<chart>, the version from the tags.
func (d *discoverer) fetchOCIChart(key string, repoObj *unstructured.Unstructured, spec helmv2.HelmChartTemplateSpec) (*helmchart.Chart, string, error) {
	what := fmt.Sprintf("chart %s from %s", spec.Chart, key)
	url, _, _ := unstructured.NestedString(repoObj.Object, "spec", "url")
	insecure, _, _ := unstructured.NestedBool(repoObj.Object, "spec", "insecure")
	repo, err := oci.ChartRepository(url, spec.Chart, insecure)
	if err != nil {
		return nil, "", fmt.Errorf("HelmRepository %s: %w", key, err)
	}
	cacheKey := repo.Name() + "|" + spec.Version
	if c, ok := d.charts[cacheKey]; ok {
		return c, "", nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	o := oci.Options{Insecure: insecure}
	version, err := oci.ChartVersion(ctx, repo, spec.Version, o)
	if errors.Is(err, oci.ErrNoChartVersion) {
		return nil, "", fmt.Errorf("%s: no chart version matches %q: %w", what, spec.Version, err)
	}
	if err != nil {
		return d.ociFailure(what, err)
	}
	img, err := oci.Image(ctx, repo.Tag(oci.ChartTag(version)), o)
	if err != nil {
		return d.ociFailure(what, err)
	}
	chrt, err := loadOCIChart(img, oci.HelmChartContentMediaType)
	if err != nil {
		return nil, "", fmt.Errorf("%s %s: %w", what, version, err)
	}
	d.charts[cacheKey] = chrt
	return chrt, "", nil
}

// fetchChartRef pulls the chart of a HelmRelease's spec.chartRef to an
// OCIRepository declared in the repository: its reference (digest,
// semver, else tag, default latest) and layer, as source-controller
// stores it and helm-controller loads it.
func (d *discoverer) fetchChartRef(key string) (*helmchart.Chart, string, error) {
	what := "chart of " + key
	obj := d.vars.find(key)
	if obj == nil {
		return nil, what + " is not fetched: the OCIRepository is not declared in this repository", nil
	}
	if d.offline {
		return nil, what + " is not fetched (--offline)", nil
	}
	if _, auth, _ := unstructured.NestedFieldNoCopy(obj.Object, "spec", "secretRef"); auth {
		return nil, what + " is not fetched: the OCIRepository needs credentials", nil
	}
	url, _, _ := unstructured.NestedString(obj.Object, "spec", "url")
	insecure, _, _ := unstructured.NestedBool(obj.Object, "spec", "insecure")
	image, ok := strings.CutPrefix(url, "oci://")
	if !ok {
		return nil, "", fmt.Errorf("OCIRepository %s: URL %q must start with oci://", key, url)
	}
	repo, err := oci.ParseRepository(image, insecure)
	if err != nil {
		return nil, "", fmt.Errorf("OCIRepository %s: %w", key, err)
	}
	digest, _, _ := unstructured.NestedString(obj.Object, "spec", "ref", "digest")
	semverRange, _, _ := unstructured.NestedString(obj.Object, "spec", "ref", "semver")
	filter, _, _ := unstructured.NestedString(obj.Object, "spec", "ref", "semverFilter")
	tag, _, _ := unstructured.NestedString(obj.Object, "spec", "ref", "tag")
	mediaType, _, _ := unstructured.NestedString(obj.Object, "spec", "layerSelector", "mediaType")
	cacheKey := repo.Name() + "|" + digest + "|" + semverRange + "|" + filter + "|" + tag + "|" + mediaType
	if c, ok := d.charts[cacheKey]; ok {
		return c, "", nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	o := oci.Options{Insecure: insecure}
	var ref name.Reference
	switch {
	case digest != "":
		ref = repo.Digest(digest)
	case semverRange != "":
		tags, err := oci.ListTags(ctx, repo, o)
		if err != nil {
			return d.ociFailure(what, err)
		}
		if tag, err = oci.LatestSemver(tags, semverRange, filter); err != nil {
			return nil, "", fmt.Errorf("OCIRepository %s: %w", key, err)
		}
		ref = repo.Tag(tag)
	default:
		if tag == "" {
			tag = "latest"
		}
		ref = repo.Tag(tag)
	}
	img, err := oci.Image(ctx, ref, o)
	if err != nil {
		return d.ociFailure(what, err)
	}
	chrt, err := loadOCIChart(img, mediaType)
	if err != nil {
		return nil, "", fmt.Errorf("OCIRepository %s (%s): %w", key, ref, err)
	}
	d.charts[cacheKey] = chrt
	return chrt, "", nil
}

// ociFailure makes an unreachable registry a skip and a refusal of
// anonymous access a skip naming it; the chart is not validated either way.
func (d *discoverer) ociFailure(what string, err error) (*helmchart.Chart, string, error) {
	if oci.IsAuthError(err) {
		return nil, what + " is not fetched: the registry needs credentials: " + err.Error(), nil
	}
	return nil, what + " is not fetched: the registry is unreachable: " + err.Error(), nil
}

// loadOCIChart loads the packaged chart of an image's layer chosen as an
// OCIRepository's layerSelector chooses ("" for its default).
func loadOCIChart(img v1.Image, mediaType string) (*helmchart.Chart, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	layer, err := oci.SelectLayer(img, m, mediaType)
	if err != nil {
		return nil, err
	}
	data, err := oci.ReadLayer(layer, maxChartBytes)
	if err != nil {
		return nil, err
	}
	return loader.LoadArchive(bytes.NewReader(data))
}
