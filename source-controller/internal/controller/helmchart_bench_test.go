package controller

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testenv"
)

// BenchmarkHelmChartsFromOneIndex measures GOTK_BENCH_CHARTS (default
// 1000) HelmCharts from one large index (about 20 MiB) until all are
// Ready, and the test process's peak RSS (controller, API client and the
// index server) from the first object created.
func BenchmarkHelmChartsFromOneIndex(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("GOTK_BENCH_CHARTS")); err == nil && v > 0 {
		n = v
	}
	startOCIHarness(&testing.T{})
	srv := largeIndexServer(b, 40000)
	ctx := context.Background()
	// The peak figure covers reconciling, not building the fixture (a
	// 24 MiB index served from this process) and starting the manager.
	b.ReportMetric(testenv.PeakRSSMiB(), "setup_peak_RSS_MiB")
	runtime.GC()
	debug.FreeOSMemory()
	testenv.ResetPeakRSS()
	for i := 0; i < b.N; i++ {
		ns := fmt.Sprintf("bench-charts-%d-%d", time.Now().UnixNano(), i)
		if err := env.Client.Create(ctx, namespaceObj(ns)); err != nil {
			b.Fatal(err)
		}
		hr := &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Name: "big", Namespace: ns},
			Spec: sourcev1.HelmRepositorySpec{URL: srv.URL, Interval: metav1.Duration{Duration: time.Hour}}}
		if err := env.Client.Create(ctx, hr); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for j := range n {
			hc := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("c%d", j), Namespace: ns},
				Spec: sourcev1.HelmChartSpec{Chart: "app", Version: "1.0.x", Interval: metav1.Duration{Duration: time.Hour},
					SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.HelmRepositoryKind, Name: "big"}}}
			if err := env.Client.Create(ctx, hc); err != nil {
				b.Fatal(err)
			}
		}
		for {
			var list sourcev1.HelmChartList
			if err := env.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
				b.Fatal(err)
			}
			ready := 0
			for k := range list.Items {
				if conditions.IsReady(&list.Items[k]) {
					ready++
				}
			}
			if ready == n {
				break
			}
			if time.Since(start) > 10*time.Minute {
				b.Fatalf("%d of %d HelmCharts ready after 10m", ready, n)
			}
			time.Sleep(200 * time.Millisecond)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s_to_all_ready")
	}
	b.ReportMetric(float64(n), "charts")
	b.ReportMetric(testenv.PeakRSSMiB(), "peak_RSS_MiB")
}

// largeIndexServer serves an index of `versions` entries of chart "app"
// (all pointing at one small real chart) and that chart.
func largeIndexServer(b *testing.B, versions int) *httptest.Server {
	var tgz bytes.Buffer
	ch := &chart.Chart{Metadata: &chart.Metadata{APIVersion: "v2", Name: "app", Version: "1.0.0"}}
	dir := b.TempDir()
	path, err := chartutil.Save(ch, dir)
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	tgz.Write(data)
	var index bytes.Buffer
	index.Grow(versions * 640) // one allocation: the fixture's garbage is not the controller's
	index.WriteString("apiVersion: v1\nentries:\n  app:\n")
	for v := range versions {
		fmt.Fprintf(&index, "  - apiVersion: v2\n    name: app\n    version: %d.%d.%d\n    description: %s\n    digest: %064d\n    urls: [app.tgz]\n    created: \"2026-01-01T00:00:00Z\"\n",
			v/10000, (v/100)%100, v%100, strings.Repeat("filler ", 60), v)
	}
	body := index.Bytes()
	b.Logf("index of %d versions, %.1f MiB", versions, float64(len(body))/(1<<20))
	mux := http.NewServeMux()
	mux.HandleFunc("/index.yaml", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) })
	mux.HandleFunc("/app.tgz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(tgz.Bytes()) })
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	return srv
}

func namespaceObj(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}
