package helm

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"gotk.dev/pkg/testenv"
)

// largeIndex is an index of `versions` entries of chart "app" with long
// descriptions, about 20 MiB for 40000 versions.
func largeIndex(versions int) []byte {
	var index strings.Builder
	index.WriteString("apiVersion: v1\nentries:\n  app:\n")
	for v := range versions {
		fmt.Fprintf(&index, "  - apiVersion: v2\n    name: app\n    version: %d.%d.%d\n    description: %s\n    digest: %064d\n    urls: [app.tgz]\n    created: \"2026-01-01T00:00:00Z\"\n",
			v/10000, (v/100)%100, v%100, strings.Repeat("filler ", 60), v)
	}
	index.WriteString("generated: \"2026-01-01T00:00:00Z\"\n")
	return []byte(index.String())
}

// BenchmarkLargeIndex fetches and normalises a 20 MiB index (the
// HelmRepository's work) and loads the stored copy for chart lookup (the
// HelmCharts' work), reporting the process's peak RSS over both.
func BenchmarkLargeIndex(b *testing.B) {
	body := largeIndex(40000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
	defer srv.Close()
	b.Logf("index of %.1f MiB", float64(len(body))/(1<<20))
	runtime.GC()
	testenv.ResetPeakRSS()
	base := testenv.PeakRSSMiB()
	b.ResetTimer()
	for range b.N {
		idx, err := FetchIndex(context.Background(), &Getter{RepoURL: srv.URL}, 50<<20, "")
		if err != nil {
			b.Fatal(err)
		}
		defer idx.Remove()
		parsed, err := LoadCompactIndexFile(idx.Path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := parsed.Get("app", "1.0.x"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(testenv.PeakRSSMiB()-base, "peak_RSS_growth_MiB")
}
