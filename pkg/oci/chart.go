package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// HelmChartContentMediaType is the layer media type of a Helm chart
// pushed to an OCI registry.
const HelmChartContentMediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"

// ErrNoChartVersion is matched (errors.Is) by ChartVersion's error when
// no tag satisfies the constraint.
var ErrNoChartVersion = errors.New("no chart version matches")

type noChartVersion struct{ err error }

func (e noChartVersion) Error() string        { return e.err.Error() }
func (e noChartVersion) Is(target error) bool { return target == ErrNoChartVersion }

// ChartRepository is the repository of chart under an OCI
// HelmRepository's URL (oci://host/path): Helm stores each chart at
// <url>/<chart>.
func ChartRepository(url, chart string, insecure bool) (name.Repository, error) {
	base, ok := strings.CutPrefix(url, "oci://")
	if !ok {
		return name.Repository{}, fmt.Errorf("URL %q must start with oci://", url)
	}
	return ParseRepository(strings.TrimSuffix(base, "/")+"/"+chart, insecure)
}

// ChartTag is the tag of a chart version: tags cannot hold "+", which
// Helm writes "_".
func ChartTag(version string) string { return strings.ReplaceAll(version, "+", "_") }

// ChartVersion resolves constraint ("" for any) to a chart version in
// repo as Helm and Flux do: an exact version is taken as it is, a
// constraint picks the highest matching tag.
func ChartVersion(ctx context.Context, repo name.Repository, constraint string, o Options) (string, error) {
	if constraint == "" {
		constraint = "*"
	}
	if v, err := semver.StrictNewVersion(constraint); err == nil {
		return v.Original(), nil
	}
	tags, err := ListTags(ctx, repo, o)
	if err != nil {
		return "", err
	}
	versions := make([]string, len(tags))
	for i, tag := range tags {
		versions[i] = strings.ReplaceAll(tag, "_", "+")
	}
	v, err := LatestSemver(versions, constraint, "")
	if err != nil {
		return "", noChartVersion{err}
	}
	return v, nil
}

// SelectLayer picks the layer with mediaType, else ("" given) the Flux
// content layer, else the only layer: source-controller's choice for an
// OCIRepository's spec.layerSelector.
func SelectLayer(img v1.Image, m *v1.Manifest, mediaType string) (v1.Layer, error) {
	for _, d := range m.Layers {
		if (mediaType != "" && string(d.MediaType) == mediaType) || (mediaType == "" && string(d.MediaType) == FluxContentMediaType) {
			return img.LayerByDigest(d.Digest)
		}
	}
	switch {
	case mediaType != "":
		return nil, fmt.Errorf("no layer with media type %q", mediaType)
	case len(m.Layers) == 1:
		return img.LayerByDigest(m.Layers[0].Digest)
	default:
		return nil, fmt.Errorf("%d layers and no %s layer: set spec.layerSelector.mediaType", len(m.Layers), FluxContentMediaType)
	}
}

// ReadLayer reads a layer's blob as stored (compressed), at most max bytes.
func ReadLayer(layer v1.Layer, max int64) ([]byte, error) {
	rc, err := layer.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("over the limit of %d bytes", max)
	}
	return data, nil
}
