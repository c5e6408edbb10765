package controller

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	"gotk.dev/pkg/testenv"
)

// benchChart is a small three-object chart: a ConfigMap, a Service and a
// Deployment that the workload control plane rolls out. The Service is
// headless since the test cluster's Service IP range holds about 250
// addresses, and the simulated node holds 250 Pods, so runs of more than
// 200 releases set replicas to 0.
func benchChart(b testing.TB, replicas int) []byte {
	return packageChart(b, "small", "1.0.0", map[string]string{
		"values.yaml": fmt.Sprintf("message: hello\nreplicas: %d\n", replicas),
		"templates/all.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}
data:
  message: {{ .Values.message | quote }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  clusterIP: None
  selector: {app: {{ .Release.Name }}}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
      - name: app
        image: example.com/app:1
`,
	})
}

// testenv.BenchHelmReleases is BenchmarkHelmScale's sizes.

// BenchmarkHelmScale creates N HelmReleases of one small chart (chartRef
// to one HelmChart, one release per namespace; N from -hrs, e.g. `go test
// -run '^$' -bench HelmScale ./internal/controller -args -hrs=100,1000`)
// and reports the time until all are Ready (each Deployment Available),
// the controller's API requests and writes (Helm's included), the CPU
// time and the peak RSS of this process, which runs the controller
// (kube-apiserver and etcd are processes of their own), restarted right
// before the releases are created. HELM_TEST_CONCURRENCY sets the
// workers. Above 200 releases the Deployments have no replicas, since the
// simulated node holds 250 Pods.
func BenchmarkHelmScale(b *testing.B) {
	startController(b)
	for _, n := range testenv.Sizes(b, "hrs", *testenv.BenchHelmReleases) {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for i := range b.N {
				benchHelmScale(b, n, i)
			}
		})
	}
}

func benchHelmScale(b *testing.B, n, run int) {
	ctx := context.Background()
	// The benchmark's own writes must not be throttled by client-go's
	// default 5 QPS, or creating the objects dominates the figure.
	fastCfg := rest.CopyConfig(env.Config)
	fastCfg.QPS, fastCfg.Burst = 500, 1000
	fast, err := client.New(fastCfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	src := "bench-src"
	ensureNamespace(b, src)
	replicas := 1
	if n > 200 {
		replicas = 0
	}
	chartName := fmt.Sprintf("small-r%d", replicas)
	publishChart(b, src, chartName, benchChart(b, replicas), "1.0.0")
	prefix := fmt.Sprintf("bench%d-%d", time.Now().UnixNano()%100000, run)
	defer cleanupBench(b, fast, prefix, n)

	b.StopTimer()
	if err := testenv.ResetPeakRSS(); err != nil {
		b.Fatalf("restarting the peak RSS count: %v", err)
	}
	total0, writes0, _ := apiRequests.Snapshot()
	downloads0 := reconciler.Charts.Downloads()
	cpu0 := testenv.CPUSeconds()
	b.StartTimer()
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for j := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ns := fmt.Sprintf("%s-%d", prefix, j)
			if err := fast.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
				b.Error(err)
			}
			hr := &helmv2.HelmRelease{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
				Spec: helmv2.HelmReleaseSpec{
					Interval: metav1.Duration{Duration: time.Hour},
					ChartRef: &helmv2.CrossNamespaceSourceReference{Kind: "HelmChart", Name: chartName, Namespace: src},
				},
			}
			if err := fast.Create(ctx, hr); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	created := time.Since(start)
	deadline := time.Now().Add(10 * time.Minute)
	for {
		ready := countReady(b, prefix)
		if ready == n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d HelmReleases Ready after 10m", ready, n)
		}
		time.Sleep(250 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cpu := testenv.CPUSeconds() - cpu0
	total, writes, _ := apiRequests.Snapshot()
	b.ReportMetric(elapsed.Seconds(), "s-to-all-ready")
	b.ReportMetric(created.Seconds(), "s-to-create")
	b.ReportMetric(testenv.PeakRSSMiB(), "peak-rss-MiB")
	b.ReportMetric(cpu, "cpu-s")
	b.ReportMetric(float64(total-total0), "api-requests")
	b.ReportMetric(float64(writes-writes0), "api-writes")
	b.ReportMetric(float64(total-total0)/float64(n), "requests/hr")
	b.ReportMetric(float64(writes-writes0)/float64(n), "writes/hr")
	b.ReportMetric(float64(reconciler.Charts.Downloads()-downloads0), "chart-downloads")
	b.ReportMetric(avgActionSeconds(b, prefix), "avg-install-s")
	b.StartTimer()
}

// BenchmarkUnchangedReconcile measures one reconcile of a Ready,
// unchanged HelmRelease through the skeleton, as the controller runs it
// (get, patch helper, steps, summarized status patch), reports the Helm
// actions it made (new release versions in storage) per reconcile, and
// fails if there was any.
func BenchmarkUnchangedReconcile(b *testing.B) {
	startController(b)
	ctx := context.Background()
	ns := fmt.Sprintf("bench-unchanged-%d", time.Now().UnixNano()%100000)
	ensureNamespace(b, ns)
	publishChart(b, ns, "small", benchChart(b, 1), "1.0.0")
	hr := &helmv2.HelmRelease{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: helmv2.HelmReleaseSpec{
			Interval: metav1.Duration{Duration: time.Hour},
			ChartRef: &helmv2.CrossNamespaceSourceReference{Kind: "HelmChart", Name: "small"},
			Values:   jsonValues("message: unchanged\n"),
		},
	}
	if err := env.Client.Create(ctx, hr); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(hr), hr); err == nil && conditions.IsReady(hr) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("HelmRelease not Ready")
		}
		time.Sleep(200 * time.Millisecond)
	}
	skeleton := reconciler.skeleton(env.Client)
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(hr)}
	before := len(releaseHistory(b, hr))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := skeleton.Reconcile(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	actions := len(releaseHistory(b, hr)) - before
	b.ReportMetric(float64(actions)/float64(b.N), "helm-actions/op")
	if actions != 0 {
		b.Fatalf("an unchanged reconcile made %d Helm actions over %d reconciles, want none", actions, b.N)
	}
	_ = env.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
}

func ensureNamespace(b testing.TB, name string) {
	err := env.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		b.Fatal(err)
	}
}

// countReady counts the Ready HelmReleases of the benchmark run prefix
// in the controller's informer cache: listing thousands of them from the
// API server four times a second made decoding them a third of the CPU
// time of the process, which runs the controller.
func countReady(b testing.TB, prefix string) int {
	var list helmv2.HelmReleaseList
	if err := reconciler.Client.List(context.Background(), &list, client.UnsafeDisableDeepCopy); err != nil {
		b.Fatal(err)
	}
	n := 0
	for i := range list.Items {
		if strings.HasPrefix(list.Items[i].Namespace, prefix+"-") && conditions.IsReady(&list.Items[i]) {
			n++
		}
	}
	return n
}

// avgActionSeconds is the mean lastAttemptedReleaseActionDuration.
func avgActionSeconds(b testing.TB, prefix string) float64 {
	var list helmv2.HelmReleaseList
	if err := env.Client.List(context.Background(), &list); err != nil {
		b.Fatal(err)
	}
	var sum time.Duration
	n := 0
	for i := range list.Items {
		if d := list.Items[i].Status.LastAttemptedReleaseActionDuration; strings.HasPrefix(list.Items[i].Namespace, prefix+"-") && d != nil {
			sum += d.Duration
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum.Seconds() / float64(n)
}

// cleanupBench deletes the benchmark's namespaces (the releases go with
// them) without waiting.
func cleanupBench(_ testing.TB, c client.Client, prefix string, n int) {
	for j := 0; j < n; j++ {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", prefix, j)}}
		_ = c.Delete(context.Background(), ns)
	}
}
