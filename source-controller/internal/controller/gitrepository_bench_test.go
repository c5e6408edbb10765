package controller

import (
	"context"
	"fmt"
	"math/rand"
	"os/exec"
	"path/filepath"

	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testenv"
	"gotk.dev/pkg/testserver"
	"gotk.dev/source-controller/internal/gitcache"
)

// benchNamespace creates a namespace for a benchmark.
func benchNamespace(b *testing.B) string { return env.NewNamespace(b) }

// BenchmarkGitRepositoryUnchanged measures a full reconcile (skeleton,
// status patch included) of a GitRepository whose remote did not change:
// it must cost one ref listing and no fetch.
func BenchmarkGitRepositoryUnchanged(b *testing.B) {
	g := NewWithT(b)
	h := startHarness(b)
	ns := benchNamespace(b)
	srv := testserver.NewGitHTTPForTest(b, testserver.GitHTTPOptions{})
	_, err := srv.CommitFiles("app", "master", map[string]string{"a.yaml": "a"}, "init")
	g.Expect(err).NotTo(HaveOccurred())
	obj := newGitRepository(ns, "unchanged", srv.URL("app"), nil)
	g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	waitReady(g, obj)

	skeleton := &reconcile.Reconciler[*sourcev1.GitRepository]{
		Client: env.Client, Events: h.rec, ControllerName: "source-controller",
		NewObject: func() *sourcev1.GitRepository { return &sourcev1.GitRepository{} },
		Negative:  gitRepositoryNegative, Kind: h.reconciler,
	}
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(obj)}
	srv.ResetRequestCounts()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := skeleton.Reconcile(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(srv.RequestCount("GET", "/app/info/refs"))/float64(b.N), "listings/op")
	b.ReportMetric(float64(srv.RequestCount("POST", "/app/git-upload-pack"))/float64(b.N), "fetches/op")
	g.Expect(srv.RequestCount("POST", "/app/git-upload-pack")).To(BeZero())
}

// BenchmarkGitRepositoryClone2000Files measures clone + artifact of a
// repository of 2,000 files totalling 50 MB (incompressible content), with
// a cold fetch cache each time.
func BenchmarkGitRepositoryClone2000Files(b *testing.B) {
	g := NewWithT(b)
	h := startHarness(b)
	srv := testserver.NewGitHTTPForTest(b, testserver.GitHTTPOptions{})
	files := make(map[string]string, 2000)
	rnd := rand.New(rand.NewSource(1))
	buf := make([]byte, 25*1000)
	for i := 0; i < 2000; i++ {
		rnd.Read(buf)
		files[fmt.Sprintf("dir%02d/file%04d.bin", i%50, i)] = string(buf)
	}
	_, err := srv.CommitFiles("big", "master", files, "2000 files")
	g.Expect(err).NotTo(HaveOccurred())
	ns := benchNamespace(b)

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cache, err := gitcache.New(b.TempDir(), 0, gitcache.Limits{Entries: 1})
		g.Expect(err).NotTo(HaveOccurred())
		r := &GitRepositoryReconciler{Client: env.Client, Events: h.rec, Storage: h.storage, Cache: cache}
		obj := newGitRepository(ns, "big", srv.URL("big"), nil)
		b.StartTimer()
		if _, _, err := r.Reconcile(context.Background(), obj); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if obj.Status.Artifact.Size != nil {
			b.ReportMetric(float64(*obj.Status.Artifact.Size)/1e6, "artifact-MB")
		}
		b.StartTimer()
	}
}

// manyRepos is the number of GitRepositories of the fan-out benchmarks.
const manyRepos = 200

// BenchmarkGitRepositoryManyOnOneURL creates 200 GitRepositories on the
// same URL (each with its own ignore rules) and measures the time until
// all are Ready, with the production ref listing TTL.
func BenchmarkGitRepositoryManyOnOneURL(b *testing.B) {
	g := NewWithT(b)
	h := startHarness(b)
	srv := testserver.NewGitHTTPForTest(b, testserver.GitHTTPOptions{})
	_, err := srv.CommitFiles("app", "master", map[string]string{"a.yaml": "a", "b/c.yaml": "c"}, "init")
	g.Expect(err).NotTo(HaveOccurred())
	h.reconciler.Cache.SetRefTTL(2 * time.Second)
	defer h.reconciler.Cache.SetRefTTL(0)
	if err := testenv.ResetPeakRSS(); err != nil {
		b.Fatalf("restarting the peak RSS count: %v", err)
	}
	for i := 0; i < b.N; i++ {
		ns := benchNamespace(b)
		srv.ResetRequestCounts()
		start := time.Now()
		objs := createMany(g, ns, func(int) string { return srv.URL("app") })
		waitAllReady(g, ns, len(objs))
		b.ReportMetric(time.Since(start).Seconds(), "s-to-all-ready")
		b.ReportMetric(float64(srv.RequestCount("POST", "/app/git-upload-pack")), "fetches")
		b.ReportMetric(float64(srv.RequestCount("GET", "/app/info/refs")), "listings")
	}
	b.ReportMetric(float64(testenv.PeakRSSBytes())/(1<<20), "peak-RSS-MiB")
}

// BenchmarkGitRepositoryManyDistinct creates 200 GitRepositories on 200
// distinct repositories of the same server and measures the time until
// all are Ready; BenchmarkGitCLIShallowClones is the server's own limit.
func BenchmarkGitRepositoryManyDistinct(b *testing.B) {
	g := NewWithT(b)
	startHarness(b)
	srv := testserver.NewGitHTTPForTest(b, testserver.GitHTTPOptions{})
	for i := 0; i < manyRepos; i++ {
		_, err := srv.CommitFiles(fmt.Sprintf("repo%03d", i), "master", map[string]string{"a.yaml": fmt.Sprint(i)}, "init")
		g.Expect(err).NotTo(HaveOccurred())
	}
	if err := testenv.ResetPeakRSS(); err != nil {
		b.Fatalf("restarting the peak RSS count: %v", err)
	}
	for i := 0; i < b.N; i++ {
		ns := benchNamespace(b)
		start := time.Now()
		objs := createMany(g, ns, func(i int) string { return srv.URL(fmt.Sprintf("repo%03d", i)) })
		waitAllReady(g, ns, len(objs))
		b.ReportMetric(time.Since(start).Seconds(), "s-to-all-ready")
	}
	b.ReportMetric(float64(testenv.PeakRSSBytes())/(1<<20), "peak-RSS-MiB")
}

// BenchmarkGitCLIShallowClones runs 200 `git clone --depth 1` of distinct
// repositories at the controller's parallelism (4): the git server's own
// limit on this machine, to compare BenchmarkGitRepositoryManyDistinct with.
func BenchmarkGitCLIShallowClones(b *testing.B) {
	g := NewWithT(b)
	srv := testserver.NewGitHTTPForTest(b, testserver.GitHTTPOptions{})
	for i := 0; i < manyRepos; i++ {
		_, err := srv.CommitFiles(fmt.Sprintf("repo%03d", i), "master", map[string]string{"a.yaml": fmt.Sprint(i)}, "init")
		g.Expect(err).NotTo(HaveOccurred())
	}
	for n := 0; n < b.N; n++ {
		dir := b.TempDir()
		start := time.Now()
		work := make(chan int)
		var wg sync.WaitGroup
		var failed sync.Once
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					out, err := exec.Command("git", "clone", "--quiet", "--depth", "1", srv.URL(fmt.Sprintf("repo%03d", i)), filepath.Join(dir, fmt.Sprint(i))).CombinedOutput()
					if err != nil {
						failed.Do(func() { b.Errorf("git clone: %v: %s", err, out) })
					}
				}
			}()
		}
		for i := 0; i < manyRepos; i++ {
			work <- i
		}
		close(work)
		wg.Wait()
		b.ReportMetric(time.Since(start).Seconds(), "s-for-200-clones")
	}
}

func createMany(g Gomega, ns string, url func(int) string) []*sourcev1.GitRepository {
	objs := make([]*sourcev1.GitRepository, manyRepos)
	for i := range objs {
		objs[i] = newGitRepository(ns, fmt.Sprintf("repo-%03d", i), url(i), nil)
		ignore := fmt.Sprintf("/b/\n# tenant %d\n", i)
		objs[i].Spec.Ignore = &ignore
		g.Expect(env.Client.Create(context.Background(), objs[i])).To(Succeed())
	}
	return objs
}

func waitAllReady(g Gomega, ns string, n int) {
	g.Eventually(func() int {
		var list sourcev1.GitRepositoryList
		if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return -1
		}
		ready := 0
		for i := range list.Items {
			if conditions.IsReady(&list.Items[i]) {
				ready++
			}
		}
		return ready
	}, 5*time.Minute, 100*time.Millisecond).Should(Equal(n))
}
