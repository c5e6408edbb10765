package fleet

import (
	"os"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	. "github.com/onsi/gomega"
	helmcommon "helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"

	"gotk.dev/pkg/oci"
	"gotk.dev/pkg/testserver"
)

// pushOCIChart pushes chart name at version to host/charts/<name> as
// `helm push` does (config and content media types, tag = version).
func pushOCIChart(t *testing.T, host, chartName, version string) {
	t.Helper()
	ch := &chart.Chart{Metadata: &chart.Metadata{APIVersion: "v2", Name: chartName, Version: version},
		Values: map[string]any{"message": "default"},
		Templates: []*helmcommon.File{{Name: "templates/cm.yaml",
			Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  message: {{ .Values.message }}\n  version: {{ .Chart.Version }}\n")}}}
	path, err := chartutil.Save(ch, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), "application/vnd.cncf.helm.config.v1+json")
	img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(data, oci.HelmChartContentMediaType)})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host+"/charts/"+chartName+":"+oci.ChartTag(version), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
}

// TestHelmReleaseOCIChart renders HelmReleases whose chart is in an OCI
// registry: from a HelmRepository of type oci (the version from the
// tags) and from a chartRef to an OCIRepository; --offline and an
// unreachable registry skip them, never pass them.
func TestHelmReleaseOCIChart(t *testing.T) {
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{})
	for _, v := range []string{"1.0.0", "1.1.0", "2.0.0"} {
		pushOCIChart(t, reg.Host(), "podinfo", v)
	}
	fromRepo := func(version string) string {
		return "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: from-repo\n  namespace: web\n" +
			"spec:\n  interval: 5m\n  chart:\n    spec:\n      chart: podinfo\n      version: \"" + version + "\"\n" +
			"      sourceRef: {kind: HelmRepository, name: oci-charts, namespace: flux-system}\n  values:\n    message: hello\n"
	}
	const fromRef = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: from-ref\n  namespace: web\n" +
		"spec:\n  interval: 5m\n  chartRef: {kind: OCIRepository, name: podinfo, namespace: flux-system}\n"
	fleet := func(t *testing.T, host, version string) string {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{
			"clusters/dev/app.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: flux-system\n" +
				"spec:\n  interval: 5m\n  path: ./app\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n",
			"clusters/dev/sources.yaml": "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: oci-charts\n  namespace: flux-system\n" +
				"spec:\n  interval: 1h\n  type: oci\n  insecure: true\n  url: oci://" + host + "/charts\n---\n" +
				"apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: podinfo\n  namespace: flux-system\n" +
				"spec:\n  interval: 1h\n  insecure: true\n  url: oci://" + host + "/charts/podinfo\n  ref: {semver: \">=1.0.0 <2.0.0\"}\n" +
				"  layerSelector: {mediaType: " + oci.HelmChartContentMediaType + ", operation: copy}\n",
			"app/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n",
			"app/releases.yaml":  fromRepo(version) + "---\n" + fromRef,
		})
		return dir
	}
	for _, tc := range []struct {
		name, host, version string
		args                []string
		code                int
		objects             int
		skipped             []string // reasons of HelmRelease/web/from-repo and from-ref
		finding             string
	}{
		{name: "fetched and rendered", host: reg.Host(), version: "1.x", objects: 5},
		{name: "exact version", host: reg.Host(), version: "2.0.0", objects: 5},
		{name: "offline is a skip", host: reg.Host(), version: "1.x", args: []string{"--offline"}, objects: 3,
			skipped: []string{"chart podinfo from HelmRepository/flux-system/oci-charts is not fetched (--offline)",
				"chart of OCIRepository/flux-system/podinfo is not fetched (--offline)"}},
		{name: "unreachable is a skip", host: "127.0.0.1:1", version: "1.x", objects: 3,
			skipped: []string{"the registry is unreachable", "the registry is unreachable"}},
		{name: "no such version", host: reg.Host(), version: "9.x", code: ExitFindings, objects: 4,
			finding: `no chart version`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			report, out, code := gotkTest(t, append([]string{fleet(t, tc.host, tc.version), "--output", "json"}, tc.args...)...)
			g.Expect(code).To(Equal(tc.code), out)
			c := report.Clusters[0]
			for _, k := range c.Kustomizations {
				if k.Name == "flux-system/app" {
					g.Expect(k.Objects).To(Equal(tc.objects), out)
				}
			}
			if tc.skipped == nil {
				g.Expect(c.Skipped).To(BeEmpty(), out)
			} else {
				g.Expect(c.Skipped).To(ConsistOf(
					And(HaveField("Object", "HelmRelease/web/from-repo"), HaveField("Reason", ContainSubstring(tc.skipped[0]))),
					And(HaveField("Object", "HelmRelease/web/from-ref"), HaveField("Reason", ContainSubstring(tc.skipped[1])))), out)
			}
			if tc.finding == "" {
				g.Expect(c.Findings).To(BeEmpty(), out)
			} else {
				g.Expect(c.Findings).To(ConsistOf(And(HaveField("Class", ClassHelm), HaveField("Object", "HelmRelease/web/from-repo"),
					HaveField("Message", ContainSubstring(tc.finding)))), out)
			}
		})
	}
}
