package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	notificationv1 "gotk.dev/pkg/apis/notification/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testserver"
)

const benchNS = "bench"

const benchReceiver = `apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {name: app, namespace: bench}
spec:
  type: github
  secretRef: {name: github-webhook}
  resources: [{kind: GitRepository, name: app}]
`

// BenchmarkGitOpsLatency measures the toolkit as a user meets it, on the
// controller processes: commit → applied through a signed GitHub webhook
// (-e2e.latency-commits, 50 by default), drift → corrected
// (-e2e.latency-drifts, 20), each timed from its start to the watch event
// that shows it done, reported as p50 and, over 200 samples or more, p99
// (fewer report their maximum as max),
// API writes per requested reconcile of an unchanged source and
// Kustomization and per interval reconcile of them (the steady state),
// and each controller's peak RSS and CPU seconds so far.
func BenchmarkGitOpsLatency(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	git := testserver.NewGitHTTPForTest(b, testserver.GitHTTPOptions{})
	cmFile := func(v int) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: bench}\ndata: {value: %q}\n", strconv.Itoa(v))
	}
	rev, err := git.CommitFiles("app", "main", map[string]string{"cm.yaml": cmFile(0)}, "0")
	if err != nil {
		b.Fatal(err)
	}
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNS}}); err != nil {
		b.Fatal(err)
	}
	createSecret(ctx, b, benchNS, "github-webhook", map[string]string{"token": hookToken})
	applyManifests(ctx, b, fmt.Sprintf(syncObjects, "app", benchNS, git.URL("app"), "")+"---\n"+benchReceiver)
	ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: benchNS, Name: "app"}}
	recv := &notificationv1.Receiver{ObjectMeta: metav1.ObjectMeta{Namespace: benchNS, Name: "app"}}
	eventually(b, time.Minute, "receiver ready", func() error { return readyStatus(ctx, recv) })
	applied := func(rev string) func() error {
		return func() error {
			if err := get(ctx, ks); err != nil {
				return err
			}
			if ks.Status.LastAppliedRevision != "main@sha1:"+rev {
				return fmt.Errorf("applied %s", ks.Status.LastAppliedRevision)
			}
			return nil
		}
	}
	eventually(b, time.Minute, "first sync", applied(rev))
	if err := get(ctx, ks); err != nil {
		b.Fatal(err)
	}
	hook := receiverURL(recv.Status.WebhookPath)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: benchNS, Name: "settings"}}

	appliedRev := func(rev string) func(client.Object) bool {
		return func(o client.Object) bool {
			return o.(*kustomizev1.Kustomization).Status.LastAppliedRevision == "main@sha1:"+rev
		}
	}
	for b.Loop() {
		var commits, drifts []time.Duration
		for i := 1; i <= *latencyCommits; i++ {
			var rev string
			commits = append(commits, timeUntilWatched(ctx, b, ks, &kustomizev1.KustomizationList{}, time.Minute, "commit applied", func() {
				var err error
				if rev, err = git.CommitFiles("app", "main", map[string]string{"cm.yaml": cmFile(i)}, strconv.Itoa(i)); err != nil {
					b.Fatal(err)
				}
				githubPush(b, hook, hookToken)
			}, func(o client.Object) bool { return appliedRev(rev)(o) }))
		}
		want := cm.DeepCopy()
		if err := get(ctx, want); err != nil {
			b.Fatal(err)
		}
		// Each edit by another hand (field manager): the same manager
		// flipping one field again and again is a fight, which the
		// controller stops answering by design.
		for i := range *latencyDrifts {
			edited := cm.DeepCopy()
			if err := get(ctx, edited); err != nil {
				b.Fatal(err)
			}
			edited.Data["value"] = "edited by hand"
			edits := 0
			drifts = append(drifts, timeUntilWatched(ctx, b, cm, &corev1.ConfigMapList{}, time.Minute, "drift corrected", func() {
				if err := env.Client.Update(ctx, edited, client.FieldOwner(fmt.Sprintf("kubectl-edit-%d", i))); err != nil {
					b.Fatal(err)
				}
			}, func(o client.Object) bool {
				// The edit itself is seen first; corrected is the value
				// back after it.
				v := o.(*corev1.ConfigMap).Data["value"]
				if v == edited.Data["value"] {
					edits++
				}
				return edits > 0 && v == want.Data["value"]
			}))
		}
		reportLatency(b, "commit-applied", commits)
		reportLatency(b, "drift-corrected", drifts)
	}

	// A requested reconcile (webhook, `gotk reconcile`) re-applies on
	// purpose: its cost is reported apart from the steady state.
	const n = 20
	before := controllerWrites(b)
	src := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: benchNS, Name: "app"}}
	for range n {
		for _, obj := range []reconcile.Object{src, ks} {
			token := requestReconcile(ctx, b, obj)
			eventually(b, time.Minute, "request handled", func() error {
				if err := get(ctx, obj); err != nil {
					return err
				}
				if obj.GetLastHandledReconcileRequest() != token {
					return fmt.Errorf("not handled yet")
				}
				return nil
			})
		}
	}
	b.ReportMetric(float64(controllerWrites(b)-before)/(2*n), "api-writes/requested-reconcile")
	b.ReportMetric(steadyStateWrites(ctx, b, src, ks), "api-writes/unchanged-reconcile")
	for _, ctl := range ctls.List {
		rss, cpu, err := processUsage(ctl.Proc.Pid())
		if err != nil {
			b.Fatal(err)
		}
		short := strings.TrimSuffix(ctl.Name, "-controller")
		b.ReportMetric(rss, short+"-peak-RSS-MiB")
		b.ReportMetric(cpu, short+"-CPU-s")
	}
}

// steadyStateWrites shortens the source's and the Kustomization's
// interval to one second and returns the API writes every controller
// made per reconcile while nothing changed, over at least 20 reconciles.
func steadyStateWrites(ctx context.Context, b *testing.B, objs ...reconcile.Object) float64 {
	for _, obj := range objs {
		if err := env.Client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"interval":"1s"}}`))); err != nil {
			b.Fatal(err)
		}
		eventually(b, time.Minute, "new interval observed", func() error {
			if err := get(ctx, obj); err != nil {
				return err
			}
			if obj.GetObservedGeneration() != obj.GetGeneration() {
				return fmt.Errorf("generation %d not observed yet", obj.GetGeneration())
			}
			return readyStatus(ctx, obj)
		})
	}
	writes0, reconciles0 := controllerWrites(b), controllerReconciles(b)
	var reconciles int
	eventually(b, time.Minute, "20 reconciles", func() error {
		if reconciles = controllerReconciles(b) - reconciles0; reconciles < 20 {
			return fmt.Errorf("%d reconciles so far", reconciles)
		}
		return nil
	})
	return float64(controllerWrites(b)-writes0) / float64(reconciles)
}

// controllerReconciles sums every controller's finished reconciles, from
// controller-runtime's controller_runtime_reconcile_total.
func controllerReconciles(b *testing.B) int {
	total := 0
	for _, ctl := range ctls.List {
		for _, line := range metricLines(b, ctl.MetricsPort, "controller_runtime_reconcile_total{") {
			total += metricValue(line)
		}
	}
	return total
}

// percentile is the p-th percentile (nearest rank) of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(i-1, 0)]
}

// controllerWrites sums the non-GET requests every controller's API
// client has made, from client-go's rest_client_requests_total.
func controllerWrites(b *testing.B) int {
	total := 0
	for _, ctl := range ctls.List {
		_, writes := clientRequests(b, ctl.MetricsPort)
		total += writes
	}
	return total
}

// metricLines returns the lines of a controller's /metrics that start
// with prefix.
func metricLines(b *testing.B, metricsPort int, prefix string) []string {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			lines = append(lines, sc.Text())
		}
	}
	return lines
}

// metricValue is the value of one Prometheus text-format sample line, as
// a whole count.
func metricValue(line string) int {
	f := strings.Fields(line)
	v, _ := strconv.ParseFloat(f[len(f)-1], 64)
	return int(v)
}

// processUsage reads a process's peak RSS (MiB) and CPU time (seconds).
func processUsage(pid int) (peakMiB, cpuSeconds float64, err error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			peakMiB = kb / 1024
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command name (which may hold spaces): utime and
	// stime are the 12th and 13th, in clock ticks of 100 Hz.
	rest := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	utime, _ := strconv.ParseFloat(rest[11], 64)
	stime, _ := strconv.ParseFloat(rest[12], 64)
	return peakMiB, (utime + stime) / 100, nil
}

// benchSizes runs run as one sub-benchmark per size in sizes, the
// comma-separated value of the flag named flagName.
func benchSizes(b *testing.B, flagName, sizes string, run func(b *testing.B, n int)) {
	for _, f := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			b.Fatalf("-%s: %v", flagName, err)
		}
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for b.Loop() {
				run(b, n)
			}
		})
	}
}

// createBenchNamespace creates a namespace of its own for one run of
// size n; the caller deletes it with deleteNamespace.
func createBenchNamespace(ctx context.Context, b *testing.B, prefix string, n int) string {
	ns := fmt.Sprintf("%s-%d-%d", prefix, n, time.Now().UnixNano()%100000)
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		b.Fatal(err)
	}
	return ns
}

// resetUsage resets a process's peak RSS and returns its CPU seconds so
// far, the starting point of processUsage's figures for one run.
func resetUsage(b *testing.B, pid int) float64 {
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0o200)
	_, cpu, err := processUsage(pid)
	if err != nil {
		b.Fatal(err)
	}
	return cpu
}

// awaitAll waits until n objects of list's kind in ns satisfy done and
// returns when the last of them did. It follows a watch rather than
// polling a list: listing n objects every few hundred milliseconds would
// load the API server whose throughput the benchmark measures.
func awaitAll(ctx context.Context, b *testing.B, list client.ObjectList, ns string, n int, done func(client.Object) bool) {
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	state := map[string]bool{}
	count := func() int {
		c := 0
		for _, ok := range state {
			if ok {
				c++
			}
		}
		return c
	}
	for {
		// (Re)list: the starting state and the version the watch follows on from.
		if err := wc.List(ctx, list, client.InNamespace(ns)); err != nil {
			fatalf(b, "listing %T: %v", list, err)
		}
		clear(state)
		items, err := meta.ExtractList(list)
		if err != nil {
			b.Fatal(err)
		}
		for _, item := range items {
			obj := item.(client.Object)
			state[obj.GetName()] = done(obj)
		}
		if count() >= n {
			return
		}
		w, err := wc.Watch(ctx, list, client.InNamespace(ns), &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.GetResourceVersion()}})
		if err != nil {
			fatalf(b, "watching %T: %v", list, err)
		}
		for ev := range w.ResultChan() {
			obj, ok := ev.Object.(client.Object)
			if !ok || ev.Type == watch.Error || ev.Type == watch.Bookmark {
				continue
			}
			if ev.Type == watch.Deleted {
				delete(state, obj.GetName())
			} else {
				state[obj.GetName()] = done(obj)
			}
			if count() >= n {
				w.Stop()
				return
			}
		}
		if ctx.Err() != nil {
			fatalf(b, "%d of %d %T done: %v", count(), n, list, ctx.Err())
		}
	}
}

// createAll creates the n objects newObj returns from a few goroutines,
// so the benchmark's own requests do not pace the controller it measures,
// and returns how long that took.
func createAll(ctx context.Context, b *testing.B, n int, newObj func(i int) client.Object) time.Duration {
	const workers = 8
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				if err := env.Client.Create(ctx, newObj(i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}
