package e2e

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testserver"
)

var (
	helmReleaseCounts = flag.String("e2e.helmreleases", "100,1000", "comma-separated N for BenchmarkHelmReleases")
	helmChartRef      = flag.Bool("e2e.helm-chartref", false, "BenchmarkHelmReleases: every release refers to one shared HelmChart (chartRef) instead of a HelmChart of its own")
)

// BenchmarkHelmReleases creates N HelmReleases of one chart from one
// Helm repository (each its own release, HelmChart and ConfigMap; with
// -e2e.helm-chartref all refer to one shared HelmChart) and
// measures the time from creation to all Ready, helm-controller's and
// source-controller's peak RSS and CPU seconds, and helm-controller's
// API requests.
func BenchmarkHelmReleases(b *testing.B) {
	repo := testserver.NewHelmRepoForTest(b, testserver.HelmRepoOptions{})
	if err := repo.AddChart("podinfo", "1.0.0", podinfoChart); err != nil {
		b.Fatal(err)
	}
	benchSizes(b, "e2e.helmreleases", *helmReleaseCounts, func(b *testing.B, n int) {
		benchHelmReleases(b, repo.URL(), n)
	})
}

func benchHelmReleases(b *testing.B, url string, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	ns := createBenchNamespace(ctx, b, "helm", n)
	defer deleteNamespace(ctx, b, ns, &helmv2.HelmReleaseList{})
	src := &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "charts"},
		Spec: sourcev1.HelmRepositorySpec{URL: url, Interval: metav1.Duration{Duration: time.Hour}}}
	if err := env.Client.Create(ctx, src); err != nil {
		b.Fatal(err)
	}
	eventually(b, time.Minute, "repository ready", func() error { return readyStatus(ctx, src) })

	watched := []string{"helm-controller", "source-controller"}
	cpu0 := map[string]float64{}
	for _, name := range watched {
		cpu0[name] = resetUsage(b, ctls.Get(name).Proc.Pid())
	}
	hc := ctls.Get("helm-controller")
	total0, writes0 := clientRequests(b, hc.MetricsPort)
	if *helmChartRef {
		chart := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "podinfo"},
			Spec: sourcev1.HelmChartSpec{Chart: "podinfo", Version: "1.x", Interval: metav1.Duration{Duration: time.Hour},
				SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.HelmRepositoryKind, Name: "charts"}}}
		if err := env.Client.Create(ctx, chart); err != nil {
			b.Fatal(err)
		}
		eventually(b, time.Minute, "chart ready", func() error { return readyStatus(ctx, chart) })
	}
	start := time.Now()
	created := createAll(ctx, b, n, func(i int) client.Object {
		hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("rel-%d", i)},
			Spec: helmv2.HelmReleaseSpec{Interval: metav1.Duration{Duration: time.Hour},
				Values: &apiextensionsv1.JSON{Raw: []byte(`{"message":"bench"}`)}}}
		if *helmChartRef {
			hr.Spec.ChartRef = &helmv2.CrossNamespaceSourceReference{Kind: sourcev1.HelmChartKind, Name: "podinfo"}
		} else {
			hr.Spec.Chart = &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{Chart: "podinfo", Version: "1.x",
				SourceRef: helmv2.CrossNamespaceObjectReference{Kind: sourcev1.HelmRepositoryKind, Name: "charts"}}}
		}
		return hr
	})
	awaitAll(ctx, b, &helmv2.HelmReleaseList{}, ns, n, func(obj client.Object) bool {
		return conditions.IsReady(obj.(*helmv2.HelmRelease))
	})
	b.ReportMetric(time.Since(start).Seconds(), "s-to-all-ready")
	b.ReportMetric(created.Seconds(), "s-to-create")
	for _, name := range watched {
		peak, cpu, err := processUsage(ctls.Get(name).Proc.Pid())
		if err != nil {
			b.Fatal(err)
		}
		short := strings.TrimSuffix(name, "-controller")
		b.ReportMetric(peak, short+"-peak-RSS-MiB")
		b.ReportMetric(cpu-cpu0[name], short+"-CPU-s")
	}
	total, writes := clientRequests(b, hc.MetricsPort)
	b.ReportMetric(float64(total-total0), "helm-api-requests")
	b.ReportMetric(float64(writes-writes0), "helm-api-writes")
}
