package controller

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	fluxcontroller "github.com/fluxcd/pkg/runtime/controller"
	"github.com/fluxcd/pkg/runtime/events"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/runtime/metricstest"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testenv"
	"gotk.dev/pkg/testserver"
)

// benchShards numbers the shard managers of the scale benchmarks, so each
// run's controller sees only its own objects.
var benchShards int

// gitBench is one run's controller: a shard manager with the controller's
// production options (workers, ref listing TTL, checkout limits) whose
// API requests are counted, and the objects it reconciles.
type gitBench struct {
	shard string
	api   *testenv.RequestCounter
	// cache reads the controller's informer cache: polling thousands of
	// objects from the API server would cost this process, which runs
	// the controller, more than the controller.
	cache client.Reader
}

// startGitBench starts a GitRepository controller of its own for a
// benchmark run, on the shared artifact storage.
func startGitBench(b *testing.B) *gitBench {
	h := startHarness(b)
	benchShards++
	gb := &gitBench{shard: fmt.Sprintf("bench-%d", benchShards), api: &testenv.RequestCounter{}}
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = -1, 0 // as the binary: the API server's priority and fairness limits
	cfg.Wrap(gb.api.Wrap)
	metricstest.StartShard(b, cfg, env.Scheme, gb.shard, func(mgr ctrl.Manager) error {
		gb.cache = mgr.GetCache()
		rec, err := events.NewRecorder(ctrl.Log, "", "source-controller", events.WithManager(mgr))
		if err != nil {
			return err
		}
		// The flags' defaults of the source-controller binary.
		_, err = SetupGitRepository(context.Background(), mgr, rec, h.storage, GitRepositoryOptions{
			ControllerName: "source-controller", CacheDir: b.TempDir(),
			ControllerOptions: reconcile.ControllerOptions{Concurrent: *testenv.BenchGitWorkers,
				RateLimiter: fluxcontroller.RateLimiterOptions{MinRetryDelay: 100 * time.Millisecond, MaxRetryDelay: 5 * time.Second}},
			CacheEntries: 32, CacheMaxBytes: 2 << 30, RefCacheTTL: 2 * time.Second, MaxCheckoutBytes: 1 << 30,
		})
		return err
	})
	return gb
}

// create makes GitRepository name in ns on url, labelled for the run's
// controller.
func (gb *gitBench) create(b *testing.B, c client.Client, ns, name, url string) {
	obj := newGitRepository(ns, name, url, nil)
	// A 200 MB clone on a loaded machine may take longer than the default.
	obj.Spec.Timeout = &metav1.Duration{Duration: 5 * time.Minute}
	obj.Labels = map[string]string{metricstest.ShardLabel: gb.shard}
	if err := c.Create(context.Background(), obj); err != nil {
		b.Error(err)
	}
}

// waitReady polls until n GitRepositories of ns are Ready, failing the
// benchmark after limit.
func (gb *gitBench) waitReady(b *testing.B, ns string, n int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for {
		var list sourcev1.GitRepositoryList
		if err := gb.cache.List(context.Background(), &list, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
			b.Fatal(err)
		}
		ready := 0
		for i := range list.Items {
			if conditions.IsReady(&list.Items[i]) {
				ready++
			}
		}
		if ready == n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d GitRepositories Ready after %s", ready, n, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// report adds the run's API requests, CPU time and peak RSS (reset by
// the caller right before the objects were created) to the benchmark.
func (gb *gitBench) report(b *testing.B, n int, total0, writes0 int64, cpu0 float64) {
	total, writes, _ := gb.api.Snapshot()
	b.ReportMetric(testenv.PeakRSSMiB(), "peak-rss-MiB")
	b.ReportMetric(testenv.CPUSeconds()-cpu0, "cpu-s")
	b.ReportMetric(float64(total-total0), "api-requests")
	b.ReportMetric(float64(writes-writes0), "api-writes")
	b.ReportMetric(float64(writes-writes0)/float64(n), "writes/repo")
}

// BenchmarkGitScale creates N GitRepositories (-gitrepos) spread evenly
// over -git-urls repositories of one Git HTTP server, e.g. `go test -run
// '^$' -bench GitScale ./internal/controller -args -gitrepos=1000
// -git-urls=10`, and reports the time until all are Ready, the Git
// requests (ref listings and fetches, in total and on the busiest URL:
// one fetch per URL and commit is the goal), the controller's API
// requests and writes, its CPU time and the peak RSS of this process,
// which runs the controller, restarted right before the objects are
// created.
func BenchmarkGitScale(b *testing.B) {
	urls := *testenv.BenchGitURLs
	if urls <= 0 {
		b.Fatalf("-git-urls=%d: want a positive number", urls)
	}
	srv := testserver.NewGitHTTPForTest(b, testserver.GitHTTPOptions{})
	for u := range urls {
		if _, err := srv.CommitFiles(fmt.Sprintf("repo%02d", u), "master", map[string]string{"app/a.yaml": fmt.Sprint(u), "app/b.yaml": "b"}, "init"); err != nil {
			b.Fatal(err)
		}
	}
	for _, n := range testenv.Sizes(b, "gitrepos", *testenv.BenchGitRepositories) {
		b.Run(fmt.Sprintf("repos=%d/urls=%d", n, urls), func(b *testing.B) {
			for range b.N {
				gb := startGitBench(b)
				ns := env.NewNamespace(b)
				srv.ResetRequestCounts()
				if err := testenv.ResetPeakRSS(); err != nil {
					b.Fatalf("restarting the peak RSS count: %v", err)
				}
				total0, writes0, _ := gb.api.Snapshot()
				cpu0 := testenv.CPUSeconds()
				start := time.Now()
				// From 16 writers, as a user's apply would: one at a
				// time, creating the objects took as long as
				// reconciling them.
				var wg sync.WaitGroup
				sem := make(chan struct{}, 16)
				for i := range n {
					wg.Add(1)
					sem <- struct{}{}
					go func() {
						defer wg.Done()
						defer func() { <-sem }()
						gb.create(b, env.Client, ns, fmt.Sprintf("repo-%04d", i), srv.URL(fmt.Sprintf("repo%02d", i%urls)))
					}()
				}
				wg.Wait()
				b.ReportMetric(time.Since(start).Seconds(), "s-to-create")
				gb.waitReady(b, ns, n, 5*time.Minute)
				b.ReportMetric(time.Since(start).Seconds(), "s-to-all-ready")
				fetches, listings, busiest := 0, 0, 0
				for u := range urls {
					f := srv.RequestCount("POST", fmt.Sprintf("/repo%02d/git-upload-pack", u))
					fetches += f
					busiest = max(busiest, f)
					listings += srv.RequestCount("GET", fmt.Sprintf("/repo%02d/info/refs", u))
				}
				b.ReportMetric(float64(fetches), "git-fetches")
				b.ReportMetric(float64(busiest), "max-fetches/url")
				b.ReportMetric(float64(listings), "git-ref-listings")
				gb.report(b, n, total0, writes0, cpu0)
			}
		})
	}
}

// BenchmarkGitBigFile makes a GitRepository of a repository holding one
// file of -bigfile-mb MB (incompressible) and reports the peak RSS of
// this process, which runs the controller, while it clones the file and
// archives it, restarted after the repository was written, with the
// time until Ready and the bytes fetched.
func BenchmarkGitBigFile(b *testing.B) {
	for _, mb := range testenv.Sizes(b, "bigfile-mb", *testenv.BenchBigFileMB) {
		b.Run(fmt.Sprintf("MB=%d", mb), func(b *testing.B) {
			srv := testserver.NewGitHTTPForTest(b, testserver.GitHTTPOptions{})
			data := make([]byte, mb*1000*1000)
			rand.New(rand.NewSource(1)).Read(data)
			if _, err := srv.CommitFiles("big", "master", map[string]string{"big.bin": string(data)}, "one big file"); err != nil {
				b.Fatal(err)
			}
			data = nil
			for range b.N {
				gb := startGitBench(b)
				ns := env.NewNamespace(b)
				srv.ResetRequestCounts()
				if err := testenv.ResetPeakRSS(); err != nil {
					b.Fatalf("restarting the peak RSS count: %v", err)
				}
				total0, writes0, _ := gb.api.Snapshot()
				cpu0 := testenv.CPUSeconds()
				start := time.Now()
				gb.create(b, env.Client, ns, "big", srv.URL("big"))
				gb.waitReady(b, ns, 1, 5*time.Minute)
				b.ReportMetric(time.Since(start).Seconds(), "s-to-ready")
				b.ReportMetric(float64(srv.ResponseBytes("POST", "/big/git-upload-pack"))/1e6, "fetched-MB")
				gb.report(b, 1, total0, writes0, cpu0)
			}
		})
	}
}
