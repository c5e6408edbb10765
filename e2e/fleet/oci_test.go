package fleet

import (
	"io"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"gotk.dev/pkg/testserver"
)

// Helm's OCI media types (helm.sh/helm/v3/pkg/registry).
const (
	helmConfigMediaType = "application/vnd.cncf.helm.config.v1+json"
	helmChartMediaType  = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
)

// pushOCIChart pushes the packaged chart the Helm repository serves to
// ref as Helm stores charts in a registry: one chart layer.
func pushOCIChart(t *testing.T, charts *testserver.HelmRepo, chart, version, ref string) {
	t.Helper()
	resp, err := charts.Client().Get(charts.ChartURL(chart, version))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	tgz, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, helmConfigMediaType)
	img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(tgz, helmChartMediaType)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
}
