package e2e

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testenv"
	"gotk.dev/pkg/testserver"
)

var (
	kustomizationCounts = flag.String("e2e.kustomizations", "100,500,1000", "comma-separated N for BenchmarkKustomizations (e.g. 10000)")
	measureFloor        = flag.Bool("e2e.floor", true, "BenchmarkKustomizations: measure the API server's write floor after each size (false: skip it, e.g. in a memory run at 10,000)")
)

// benchApp is one app of the scale benchmark, as the issue that asked
// for it describes: a ServiceAccount, a ConfigMap, a Service and a
// Deployment with 0 replicas.
var benchApp = map[string]string{
	"app/kustomization.yaml": "resources: [sa.yaml, cm.yaml, svc.yaml, deploy.yaml]\n",
	"app/sa.yaml":            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app}\n",
	"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {key: value}\n",
	"app/svc.yaml":           "apiVersion: v1\nkind: Service\nmetadata: {name: app}\nspec: {selector: {app: app}, ports: [{port: 80}]}\n",
	"app/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: 0
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec: {containers: [{name: app, image: example.com/app:1}]}
`,
}

// BenchmarkKustomizations creates N Kustomizations of one repository's
// app (each with its own name prefix) and measures the time from
// creation to all Ready, kustomize-controller's peak RSS and CPU seconds
// over the run, and the API requests and writes it made.
func BenchmarkKustomizations(b *testing.B) {
	git := testserver.NewGitHTTPForTest(b, testserver.GitHTTPOptions{})
	if _, err := git.CommitFiles("scale", "main", benchApp, "app"); err != nil {
		b.Fatal(err)
	}
	benchSizes(b, "e2e.kustomizations", *kustomizationCounts, func(b *testing.B, n int) {
		benchKustomizations(b, git.URL("scale"), n)
	})
}

func benchKustomizations(b *testing.B, url string, n int) {
	// 10,000 on a loaded machine take longer than 20 minutes.
	ctx, cancel := context.WithTimeout(context.Background(), max(20*time.Minute, time.Duration(n)*200*time.Millisecond))
	defer cancel()
	ns := createBenchNamespace(ctx, b, "scale", n)
	defer deleteNamespace(ctx, b, ns, &kustomizev1.KustomizationList{})
	src := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "scale"},
		Spec: sourcev1.GitRepositorySpec{URL: url, Interval: metav1.Duration{Duration: time.Hour},
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"}}}
	if err := env.Client.Create(ctx, src); err != nil {
		b.Fatal(err)
	}
	eventually(b, time.Minute, "source ready", func() error { return readyStatus(ctx, src) })

	kc := ctls.Get("kustomize-controller")
	pid := kc.Proc.Pid()
	cpu0 := resetUsage(b, pid)
	total0, writes0 := clientRequests(b, kc.MetricsPort)
	profiles := startProfiles(ctx, b, kc.MetricsPort, fmt.Sprintf("kustomize-controller-N%d", n))
	start := time.Now()
	created := createAll(ctx, b, n, func(i int) client.Object {
		return &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("app-%d", i)},
			Spec: kustomizev1.KustomizationSpec{Path: "./app", NamePrefix: fmt.Sprintf("k%d-", i), TargetNamespace: ns,
				Interval:  metav1.Duration{Duration: time.Hour},
				SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "scale"}}}
	})
	awaitAll(ctx, b, &kustomizev1.KustomizationList{}, ns, n, func(obj client.Object) bool {
		ks := obj.(*kustomizev1.Kustomization)
		return conditions.IsReady(ks) && ks.Status.LastAppliedRevision != ""
	})
	elapsed := time.Since(start)
	peak, cpu, err := processUsage(pid)
	if err != nil {
		b.Fatal(err)
	}
	total, writes := clientRequests(b, kc.MetricsPort)
	profiles.Finish(ctx, b)
	b.ReportMetric(elapsed.Seconds(), "s-to-all-ready")
	if *measureFloor {
		floor := writeFloor(ctx, b, n)
		b.ReportMetric(floor.Seconds(), "s-write-floor")
		b.ReportMetric(elapsed.Seconds()/floor.Seconds(), "ready/floor")
	}
	b.ReportMetric(float64(total-total0)/float64(n), "requests/ks")
	b.ReportMetric(float64(writes-writes0)/float64(n), "writes/ks")
	b.ReportMetric(created.Seconds(), "s-to-create")
	b.ReportMetric(peak, "kustomize-peak-RSS-MiB")
	b.ReportMetric(cpu-cpu0, "kustomize-CPU-s")
	b.ReportMetric(float64(total-total0), "api-requests")
	b.ReportMetric(float64(writes-writes0), "api-writes")
}

// writeFloor server-side applies the objects of n bench apps in a
// namespace of their own from 64 workers, no controller involved, and
// returns how long the API server took: the floor under the
// Kustomizations' time to all Ready, measured on the same machine load.
func writeFloor(ctx context.Context, b *testing.B, n int) time.Duration {
	ns := createBenchNamespace(ctx, b, "floor", n)
	defer deleteNamespace(ctx, b, ns, &corev1.ConfigMapList{})
	var objs []*unstructured.Unstructured
	for i := range n {
		for _, f := range []string{"app/sa.yaml", "app/cm.yaml", "app/svc.yaml", "app/deploy.yaml"} {
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(benchApp[f]), &u.Object); err != nil {
				b.Fatal(err)
			}
			u.SetNamespace(ns)
			u.SetName(fmt.Sprintf("k%d-%s", i, u.GetName()))
			objs = append(objs, u)
		}
	}
	d, err := testenv.ApplyFloor(ctx, env.Config, client.Options{Scheme: env.Scheme}, objs, "floor")
	if err != nil {
		b.Fatalf("write floor: %v", err)
	}
	return d
}

// clientRequests reads a controller's API client request counts: all,
// and all but GETs.
func clientRequests(b *testing.B, metricsPort int) (total, writes int) {
	for _, line := range metricLines(b, metricsPort, "rest_client_requests_total{") {
		v := metricValue(line)
		total += v
		if !strings.Contains(line, `method="GET"`) {
			writes += v
		}
	}
	return total, writes
}

// deleteNamespace deletes a benchmark's namespace and waits until the
// objects of list's kind in it are gone (finalized by their controller),
// so the next size starts from a quiet controller.
func deleteNamespace(ctx context.Context, b *testing.B, ns string, list client.ObjectList) {
	if err := env.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsNotFound(err) {
		b.Fatal(err)
	}
	eventually(b, 20*time.Minute, "namespace emptied", func() error {
		if err := env.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
			return err
		}
		if n := apimeta.LenList(list); n > 0 {
			return fmt.Errorf("%d left", n)
		}
		return nil
	})
}
