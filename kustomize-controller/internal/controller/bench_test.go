package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/testenv"
)

// benchApp is one app of the scale benchmark: ServiceAccount, ConfigMap,
// Service (headless: the test API server has a /24 service range) and a
// Deployment with 0 replicas.
const benchApp = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: app
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: app
data:
  key: value
---
apiVersion: v1
kind: Service
metadata:
  name: app
spec:
  clusterIP: None
  selector: {app: app}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: 0
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      serviceAccountName: app
      containers: [{name: app, image: nginx}]
`

// BenchmarkScale creates N Kustomizations of one artifact (N from -ks,
// e.g. `go test -run '^$' -bench Scale ./internal/controller -args
// -ks=1000,10000`) from as many workers as the write floor uses, and
// reports the time until all are Ready (watched, not polled), the API
// requests and writes the controller made (per Kustomization too) and
// its peak RSS for that size, next to the API server's write floor
// measured in the same run: the same number of server-side applies sent
// from 64 workers with no controller. Then (-restart) it restarts the
// controller and reports the time until all are verified again, with the
// writes and CPU of that, and (-steady) the CPU used over a window with
// nothing changing (see benchRestartScale, benchSteadyState).
// The controller runs in this test process (kube-apiserver and etcd are
// processes of their own and not counted), with its --concurrent and
// --kube-api-qps/--kube-api-burst defaults: the peak is this process's
// VmHWM, restarted (garbage collected, freed memory returned, Linux
// clear_refs) right before the size's Kustomizations are created, so it
// covers the controller reconciling N objects plus the benchmark's own
// watch, not earlier sizes or the test set-up. The controller's own peak
// RSS, apart from any benchmark, is e2e's BenchmarkKustomizations'
// kustomize-peak-RSS-MiB (the controller runs there as its own process).
func BenchmarkScale(b *testing.B) {
	for _, n := range testenv.Sizes(b, "ks", *testenv.BenchKustomizations) {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for range b.N {
				benchScale(b, n)
			}
		})
	}
}

func benchScale(b *testing.B, n int) {
	ctx := context.Background()
	ns := env.NewNamespace(b)
	art := publish(b, map[string]string{"app/all.yaml": benchApp})
	newGitRepository(b, ns, "repo", art)
	if err := testenv.ResetPeakRSS(); err != nil {
		b.Fatalf("restarting the peak RSS count: %v", err)
	}
	total0, writes0, dry0 := apiRequests.Snapshot()
	start := time.Now()
	// Created from as many workers as the write floor uses: created one
	// by one, the creates alone took longer than the controller needed.
	err := forEach(n, testenv.FloorWorkers, func(i int) error {
		return env.Client.Create(ctx, &kustomizev1.Kustomization{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("app-%d", i)},
			Spec: kustomizev1.KustomizationSpec{
				Interval:        metav1.Duration{Duration: *testenv.BenchKustomizationInterval},
				Path:            "app",
				TargetNamespace: ns,
				Prune:           true,
				NamePrefix:      fmt.Sprintf("app-%d-", i),
				SourceRef:       kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "repo"},
			},
		})
	})
	if err != nil {
		b.Fatal(err)
	}
	created := time.Since(start)
	awaitAllReady(b, ns, n, max(5*time.Minute, time.Duration(n)*60*time.Millisecond))
	elapsed := time.Since(start)
	total, writes, dry := apiRequests.Snapshot()
	peak := testenv.PeakRSSMiB()
	floor := applyFloor(b, n)
	b.ReportMetric(created.Seconds(), "s-to-create")
	b.ReportMetric(elapsed.Seconds(), "s-to-all-ready")
	b.ReportMetric(floor.Seconds(), "s-write-floor")
	b.ReportMetric(elapsed.Seconds()/floor.Seconds(), "ready/floor")
	b.ReportMetric(float64(total-total0), "api-requests")
	b.ReportMetric(float64(writes-writes0), "api-writes")
	b.ReportMetric(float64(dry-dry0), "api-dry-runs")
	b.ReportMetric(float64(total-total0)/float64(n), "requests/ks")
	b.ReportMetric(float64(writes-writes0)/float64(n), "writes/ks")
	b.ReportMetric(peak, "peak-rss-MiB")
	restartCPU := 0.0
	if *testenv.BenchRestart {
		restartCPU = benchRestartScale(b, ns, n)
	}
	if *testenv.BenchSteady > 0 {
		benchSteadyState(b, *testenv.BenchSteady, restartCPU)
	}
}

// forEach runs fn(0..n-1) from workers goroutines and returns the first
// errors.
func forEach(n, workers int, fn func(i int) error) error {
	next := make(chan int)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil && errs[w] == nil {
					errs[w] = err
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// awaitAllReady waits until n Kustomizations of ns are Ready. It lists
// once and then watches: listing all every few hundred milliseconds
// costs the API server (and this process, which runs the controller)
// O(n) per poll, at 10,000 Kustomizations more than the controller's
// own writes.
func awaitAllReady(b *testing.B, ns string, n int, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	ready := map[string]bool{}
	count := 0
	set := func(ks *kustomizev1.Kustomization, r bool) {
		if ready[ks.Name] != r {
			ready[ks.Name] = r
			if r {
				count++
			} else {
				count--
			}
		}
	}
	for {
		var list kustomizev1.KustomizationList
		if err := wc.List(ctx, &list, client.InNamespace(ns)); err != nil {
			b.Fatalf("%d of %d Ready after %s (%v)", count, n, timeout, err)
		}
		for i := range list.Items {
			set(&list.Items[i], conditions.IsReady(&list.Items[i]))
		}
		if count == n {
			return
		}
		w, err := wc.Watch(ctx, &kustomizev1.KustomizationList{}, client.InNamespace(ns),
			&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})
		if err != nil {
			b.Fatalf("%d of %d Ready after %s (%v)", count, n, timeout, err)
		}
		for ev := range w.ResultChan() {
			ks, ok := ev.Object.(*kustomizev1.Kustomization)
			if !ok {
				break // an error event (e.g. the version expired): list again
			}
			set(ks, ev.Type != watch.Deleted && conditions.IsReady(ks))
			if count == n {
				w.Stop()
				return
			}
		}
		w.Stop()
		if ctx.Err() != nil {
			b.Fatalf("%d of %d Ready after %s", count, n, timeout)
		}
	}
}

// applyFloor server-side applies the objects of n bench apps (in a
// namespace of their own, no controller involved) from 64 workers and
// returns how long the API server took.
func applyFloor(b *testing.B, n int) time.Duration {
	ns := env.NewNamespace(b)
	var objs []*unstructured.Unstructured
	for i := range n {
		for _, doc := range strings.Split(benchApp, "---\n") {
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
				b.Fatal(err)
			}
			u.SetNamespace(ns)
			u.SetName(fmt.Sprintf("app-%d-%s", i, u.GetName()))
			objs = append(objs, u)
		}
	}
	d, err := testenv.ApplyFloor(context.Background(), env.Config, client.Options{Scheme: env.Scheme}, objs, "floor")
	if err != nil {
		b.Fatalf("write floor: %v", err)
	}
	return d
}

// BenchmarkUnchangedReconcile reconciles a Ready Kustomization whose
// revision, spec and applied objects did not change: no build, no dry-run
// and no write are expected.
func BenchmarkUnchangedReconcile(b *testing.B) {
	ctx := context.Background()
	ns := env.NewNamespace(b)
	newGitRepository(b, ns, "repo", publish(b, map[string]string{"app/all.yaml": benchApp}))
	ks := &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: kustomizev1.KustomizationSpec{
			Interval: metav1.Duration{Duration: time.Hour}, Path: "app", Prune: true, TargetNamespace: ns,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "repo"},
		},
	}
	if err := env.Client.Create(ctx, ks); err != nil {
		b.Fatal(err)
	}
	skeleton := reconciler.skeleton()
	deadline := time.Now().Add(20 * time.Second)
	for {
		cur := &kustomizev1.Kustomization{}
		_ = env.Client.Get(ctx, client.ObjectKeyFromObject(ks), cur)
		if _, ok := reconciler.unchanged(ctx, cur); ok && conditions.IsReady(cur) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("Kustomization not Ready: %+v", cur.Status.Conditions)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, writes0, dry0 := apiRequests.Snapshot()
	b.ResetTimer()
	for range b.N {
		if _, err := skeleton.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(ks)}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_, writes, dry := apiRequests.Snapshot()
	b.ReportMetric(float64(writes-writes0)/float64(b.N), "writes/op")
	b.ReportMetric(float64(dry-dry0)/float64(b.N), "dry-runs/op")
}
