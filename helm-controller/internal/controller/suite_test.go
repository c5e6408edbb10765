package controller

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	fluxcontroller "github.com/fluxcd/pkg/runtime/controller"
	"github.com/fluxcd/pkg/runtime/events"
	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/artifact"
	"gotk.dev/pkg/runtime/metricstest"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testenv"
	"gotk.dev/pkg/testserver"

	"gotk.dev/helm-controller/internal/action"
	"gotk.dev/helm-controller/internal/chart"
)

var (
	env *testenv.Environment

	startOnce  sync.Once
	artifacts  *testserver.ArtifactServer
	sink       *testserver.WebhookSink
	reconciler *HelmReleaseReconciler

	// apiRequests counts the controller's API requests, Helm's included
	// (for the benchmarks).
	apiRequests testenv.RequestCounter
)

// TestMain runs one control plane with workloads (Deployments roll out)
// and kwok stages that finish annotated Pods (Helm test hooks).
func TestMain(m *testing.M) {
	testenv.Main(m, &env, testenv.WithStages(testenv.PodExitStages...))
}

// startController starts, once per package, the artifact server, the event
// sink and a manager running the HelmRelease reconciler.
func startController(t testing.TB) {
	t.Helper()
	startOnce.Do(func() {
		var err error
		if artifacts, err = testserver.NewArtifactServer(); err != nil {
			panic(err)
		}
		if sink, err = testserver.NewWebhookSink(); err != nil {
			panic(err)
		}
		if os.Getenv("HELM_CONTROLLER_TEST_LOGS") != "" {
			ctrl.SetLogger(zap.New(zap.UseDevMode(true)))
		} else {
			ctrl.SetLogger(logr.Discard())
		}
		// As the controller binary configures its clients: the test API
		// server has priority and fairness, so no client-side throttling.
		cfg := rest.CopyConfig(env.Config)
		cfg.QPS = -1
		cfg.Wrap(apiRequests.Wrap)
		mgr, err := ctrl.NewManager(cfg, ctrl.Options{
			Scheme:  env.Scheme,
			Metrics: metricsserver.Options{BindAddress: "0"},
			Client:  client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}, &corev1.ConfigMap{}}}},
			Cache:   cache.Options{DefaultLabelSelector: metricstest.ExcludeShards()},
		})
		if err != nil {
			panic(err)
		}
		rec, err := events.NewRecorder(ctrl.Log, sink.URL(), ControllerName, events.WithManager(mgr))
		if err != nil {
			panic(err)
		}
		clients, err := action.NewClients(cfg)
		if err != nil {
			panic(err)
		}
		fetcher := artifact.NewFetcher(2, 10*time.Second, 0)
		reconciler = &HelmReleaseReconciler{
			Client:               mgr.GetClient(),
			Events:               rec,
			Clients:              clients,
			Charts:               chart.NewLoader(fetcher, 0),
			DependencyRequeue:    time.Second,
			ImpersonationClients: action.NewImpersonator(env.Config).Clients,
			Remotes:              action.NewRemotes(),
		}
		if err := reconciler.SetupWithManager(context.Background(), mgr, reconcile.ControllerOptions{Concurrent: testConcurrency(),
			RateLimiter: fluxcontroller.RateLimiterOptions{MinRetryDelay: 100 * time.Millisecond, MaxRetryDelay: 5 * time.Second}}); err != nil {
			panic(err)
		}
		go func() {
			if err := mgr.Start(context.Background()); err != nil {
				panic(err)
			}
		}()
	})
}

// packageChart packages a chart from files (chart-relative path →
// content) with Helm's own code and returns the .tgz bytes.
func packageChart(t testing.TB, name, version string, files map[string]string) []byte {
	t.Helper()
	all := map[string]string{
		"Chart.yaml": fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\nappVersion: %q\ntype: application\n", name, version, version),
	}
	for k, v := range files {
		all[k] = v
	}
	paths := make([]string, 0, len(all))
	for p := range all {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var buffered []*archive.BufferedFile
	for _, p := range paths {
		buffered = append(buffered, &archive.BufferedFile{Name: p, Data: []byte(all[p])})
	}
	c, err := loader.LoadFiles(buffered)
	if err != nil {
		t.Fatalf("loading chart: %v", err)
	}
	dir := t.TempDir()
	path, err := chartutil.Save(c, dir)
	if err != nil {
		t.Fatalf("packaging chart: %v", err)
	}
	data, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// publishChart serves a packaged chart and points the HelmChart ns/name at
// it (creating it if needed), as source-controller would.
func publishChart(t testing.TB, ns, name string, data []byte, version string) {
	t.Helper()
	ctx := context.Background()
	url, digest, size, err := artifacts.AddBytes(fmt.Sprintf("helmchart/%s/%s/%s-%s.tgz", ns, name, name, version), data)
	if err != nil {
		t.Fatal(err)
	}
	hc := &sourcev1.HelmChart{}
	key := types.NamespacedName{Namespace: ns, Name: name}
	if err := env.Client.Get(ctx, key, hc); err != nil {
		hc = &sourcev1.HelmChart{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: sourcev1.HelmChartSpec{
				Chart: name, Version: "*", Interval: metav1.Duration{Duration: time.Hour},
				SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.HelmRepositoryKind, Name: "charts"},
			},
		}
		if err := env.Client.Create(ctx, hc); err != nil {
			t.Fatal(err)
		}
	}
	hc.Status.Artifact = &meta.Artifact{
		Path: fmt.Sprintf("helmchart/%s/%s/%s-%s.tgz", ns, name, name, version), URL: url, Revision: version,
		Digest: digest, LastUpdateTime: metav1.Now(), Size: &size,
	}
	hc.Status.ObservedGeneration = hc.Generation
	if err := env.Client.Status().Update(ctx, hc); err != nil {
		t.Fatal(err)
	}
}

// appChart is a chart with a Deployment (rolled out by the workload
// control plane), a ConfigMap from values, a switch that makes the API
// server reject the release ("fail: true") and a test hook whose Pod
// exits with .Values.testExit.
func appChart(t testing.TB, version string) []byte {
	return packageChart(t, "app", version, map[string]string{
		"values.yaml": "message: hello\nreplicas: 1\nfail: false\ntestExit: \"0\"\n",
		"templates/deployment.yaml": `apiVersion: apps/v1
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
        image: example.com/app:{{ .Chart.AppVersion }}
`,
		"templates/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
data:
  message: {{ .Values.message | quote }}
{{- if .Values.fail }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: Invalid_Name_{{ .Release.Name }}
{{- end }}
`,
		"templates/tests/test.yaml": testHookTemplate,
	})
}

// newRelease returns a HelmRelease of the HelmChart chartName in ns.
func newRelease(ns, name, chartName string, values string) *helmv2.HelmRelease {
	hr := &helmv2.HelmRelease{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: helmv2.HelmReleaseSpec{
			Interval: metav1.Duration{Duration: time.Hour},
			Timeout:  &metav1.Duration{Duration: time.Minute},
			ChartRef: &helmv2.CrossNamespaceSourceReference{Kind: sourcev1.HelmChartKind, Name: chartName},
		},
	}
	if values != "" {
		hr.Spec.Values = jsonValues(values)
	}
	return hr
}

// getRelease polls the HelmRelease.
func getRelease(g Gomega, hr *helmv2.HelmRelease) *helmv2.HelmRelease {
	out := &helmv2.HelmRelease{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(hr), out)).To(Succeed())
	return out
}

// requestReconcile sets reconcile.fluxcd.io/requestedAt (plus extra
// annotations) to a new token and returns it.
func requestReconcile(t testing.TB, hr *helmv2.HelmRelease, extra ...string) string {
	t.Helper()
	token := time.Now().Format(time.RFC3339Nano)
	ann := map[string]any{meta.ReconcileRequestAnnotation: token}
	for _, k := range extra {
		ann[k] = token
	}
	patchAnnotations(t, hr, ann)
	return token
}

// testConcurrency is the number of workers: 4 (Flux's default) unless
// HELM_TEST_CONCURRENCY says otherwise (benchmarks of many releases).
func testConcurrency() int {
	if n, err := strconv.Atoi(os.Getenv("HELM_TEST_CONCURRENCY")); err == nil && n > 0 {
		return n
	}
	return 10 // the controller's --concurrent default
}

// testHookTemplate is a chart's Helm test hook: a Pod the test
// environment finishes with the release's testExit value as exit code.
var testHookTemplate = `apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-test
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation
    ` + testenv.ExitAnnotation + `: {{ .Values.testExit | quote }}
spec:
  restartPolicy: Never
  containers:
  - name: test
    image: example.com/test:1
`
