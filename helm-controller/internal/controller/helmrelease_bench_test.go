package controller

import (
	"context"
	"fmt"
	"os"
	"strconv"
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

// BenchmarkHelmReleases100 creates 100 HelmReleases of one small chart
// (chartRef to one HelmChart, one release per namespace) and measures the
// time until all are Ready (each Deployment Available) and the peak RSS of
// the process running the controller. Set HELM_BENCH_N to change N (and
// HELM_TEST_CONCURRENCY the workers); above 200 the Deployments have no
// replicas, since the simulated node holds 250 Pods.
func BenchmarkHelmReleases100(b *testing.B) {
	n := 100
	if v, err := strconv.Atoi(os.Getenv("HELM_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	startController(b)
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
	publishChart(b, src, "small", benchChart(b, replicas), "1.0.0")

	for i := 0; i < b.N; i++ {
		prefix := fmt.Sprintf("bench%d-%d", time.Now().UnixNano()%100000, i)
		if err := testenv.ResetPeakRSS(); err != nil {
			b.Fatalf("restarting the peak RSS count: %v", err)
		}
		b.ResetTimer()
		start := time.Now()
		var wg sync.WaitGroup
		sem := make(chan struct{}, 16)
		for j := 0; j < n; j++ {
			wg.Add(1)
			sem <- struct{}{}
			go func(j int) {
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
						ChartRef: &helmv2.CrossNamespaceSourceReference{Kind: "HelmChart", Name: "small", Namespace: src},
					},
				}
				if err := fast.Create(ctx, hr); err != nil {
					b.Error(err)
				}
			}(j)
		}
		wg.Wait()
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
		b.ReportMetric(elapsed.Seconds(), "s-to-all-ready")
		b.ReportMetric(float64(testenv.PeakRSSBytes())/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(float64(reconciler.Charts.Downloads()), "chart-downloads")
		b.ReportMetric(avgActionSeconds(b, prefix), "avg-install-s")
		cleanupBench(b, fast, prefix, n)
		b.StartTimer()
	}
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

func countReady(b testing.TB, prefix string) int {
	var list helmv2.HelmReleaseList
	if err := env.Client.List(context.Background(), &list); err != nil {
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
