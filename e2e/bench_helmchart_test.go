package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testserver"
)

var helmChartCounts = flag.String("e2e.helmcharts", "1000", "comma-separated N for BenchmarkHelmChartsFromOneIndex")

// largeIndexVersions makes the benchmark's index about 24 MiB, the size
// of a large public chart repository's.
const largeIndexVersions = 40000

// BenchmarkHelmChartsFromOneIndex creates N HelmCharts of one chart from
// one HelmRepository whose index is about 24 MiB and measures the time
// from creation to all Ready and source-controller's peak RSS and CPU
// seconds: the index must be parsed once per digest, not once per chart.
func BenchmarkHelmChartsFromOneIndex(b *testing.B) {
	repo := testserver.NewHelmRepoForTest(b, testserver.HelmRepoOptions{})
	if err := repo.AddChart("app", "1.0.0", podinfoChart); err != nil {
		b.Fatal(err)
	}
	size := writeLargeIndex(b, repo, largeIndexVersions)
	b.Logf("index of %d versions, %.1f MiB", largeIndexVersions, float64(size)/(1<<20))
	benchSizes(b, "e2e.helmcharts", *helmChartCounts, func(b *testing.B, n int) {
		benchHelmCharts(b, repo.URL(), n)
	})
}

// writeLargeIndex replaces the repository's index with one of `versions`
// versions of chart "app", all pointing at the one packaged chart, and
// returns its size.
func writeLargeIndex(b *testing.B, repo *testserver.HelmRepo, versions int) int {
	var index bytes.Buffer
	index.WriteString("apiVersion: v1\nentries:\n  app:\n")
	for v := range versions {
		fmt.Fprintf(&index, "  - apiVersion: v2\n    name: app\n    version: %d.%d.%d\n    description: %s\n    digest: %064d\n    urls: [%s]\n    created: \"2026-01-01T00:00:00Z\"\n",
			v/10000, (v/100)%100, v%100, strings.Repeat("filler ", 60), v, repo.ChartURL("app", "1.0.0"))
	}
	if err := os.WriteFile(filepath.Join(repo.Dir(), "index.yaml"), index.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return index.Len()
}

func benchHelmCharts(b *testing.B, url string, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	ns := createBenchNamespace(ctx, b, "charts", n)
	defer deleteNamespace(ctx, b, ns, &sourcev1.HelmChartList{})
	src := &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "big"},
		Spec: sourcev1.HelmRepositorySpec{URL: url, Interval: metav1.Duration{Duration: time.Hour}}}

	pid := ctls.Get("source-controller").Proc.Pid()
	cpu0 := resetUsage(b, pid)
	// The clock starts before the repository: fetching and parsing the
	// index is part of the cost.
	start := time.Now()
	if err := env.Client.Create(ctx, src); err != nil {
		b.Fatal(err)
	}
	created := createAll(ctx, b, n, func(i int) client.Object {
		return &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("c%d", i)},
			Spec: sourcev1.HelmChartSpec{Chart: "app", Version: "1.0.x", Interval: metav1.Duration{Duration: time.Hour},
				SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.HelmRepositoryKind, Name: "big"}}}
	})
	awaitAll(ctx, b, &sourcev1.HelmChartList{}, ns, n, func(obj client.Object) bool {
		return conditions.IsReady(obj.(*sourcev1.HelmChart))
	})
	elapsed := time.Since(start)
	peak, cpu, err := processUsage(pid)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(elapsed.Seconds(), "s-to-all-ready")
	b.ReportMetric(created.Seconds(), "s-to-create")
	b.ReportMetric(peak, "source-peak-RSS-MiB")
	b.ReportMetric(cpu-cpu0, "source-CPU-s")
}
