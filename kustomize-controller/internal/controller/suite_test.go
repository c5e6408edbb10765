package controller

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	fluxcontroller "github.com/fluxcd/pkg/runtime/controller"
	"github.com/fluxcd/pkg/runtime/events"
	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/artifact"
	"gotk.dev/pkg/kustomize"
	"gotk.dev/pkg/runtime/metricstest"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testenv"
	"gotk.dev/pkg/testserver"

	"gotk.dev/kustomize-controller/internal/artifactcache"
	"gotk.dev/kustomize-controller/internal/drift"
)

var (
	env       *testenv.Environment
	artifacts *testserver.ArtifactServer
	// reconciler is the one the manager runs.
	reconciler *KustomizationReconciler

	// apiRequests counts the controller's API requests (for the benchmarks).
	apiRequests testenv.RequestCounter
)

// TestMain starts one control plane (with workloads, so Deployments roll
// out), one artifact server and the controller under a real manager.
func TestMain(m *testing.M) {
	ctx, cancel := context.WithCancel(context.Background())
	e, err := testenv.Start(ctx, testenv.WithWorkloads())
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		os.Exit(1)
	}
	env = e
	code := func() int {
		defer cancel()
		if artifacts, err = testserver.NewArtifactServer(); err != nil {
			fmt.Fprintf(os.Stderr, "artifact server: %v\n", err)
			return 1
		}
		defer artifacts.Close()
		stop, err := startManager(ctx)
		if err != nil {
			fmt.Fprintf(os.Stderr, "manager: %v\n", err)
			return 1
		}
		stopManager = stop
		defer func() { // the one running at the end, if any
			if stopManager != nil {
				stopManager()
			}
		}()
		return m.Run()
	}()
	if err := e.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: stopping: %v\n", err)
	}
	os.Exit(code)
}

// stopManager stops the manager TestMain started (BenchmarkScale's
// restart replaces it with the one it starts).
var stopManager func()

// startManager starts a manager running the controller (and sets
// reconciler); the returned function stops it and returns when it has.
func startManager(ctx context.Context) (func(), error) {
	ctrl.SetLogger(logr.Discard())
	if os.Getenv("KS_TEST_LOGS") != "" {
		ctrl.SetLogger(zap.New())
	}
	// Count the controller's API requests (for the benchmarks), with the
	// client limit of the controller's --kube-api-qps/--kube-api-burst defaults.
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = DefaultKubeAPIQPS, DefaultKubeAPIBurst
	cfg.Wrap(apiRequests.Wrap)
	skipNameValidation := true
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  env.Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Client:  client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}, &corev1.ConfigMap{}}}},
		Cache:   cache.Options{DefaultLabelSelector: metricstest.ExcludeShards()},
		// A restarted manager registers the same controller name again.
		Controller: config.Controller{SkipNameValidation: &skipNameValidation},
	})
	if err != nil {
		return nil, err
	}
	rec, err := events.NewRecorder(ctrl.Log.WithName("events"), "", controllerName, events.WithManager(mgr))
	if err != nil {
		return nil, err
	}
	reconciler = newReconciler(mgr.GetClient(), mgr.GetAPIReader(), rec)
	reconciler.Config = mgr.GetConfig()
	reconciler.Drift = &drift.Watcher{
		Client:       metadata.NewForConfigOrDie(cfg),
		Mapper:       mgr.GetRESTMapper(),
		FieldManager: FieldManager,
	}
	concurrent := DefaultConcurrent
	if n, err := strconv.Atoi(os.Getenv("KS_CONCURRENT")); err == nil && n > 0 {
		concurrent = n
	}
	ctx, cancel := context.WithCancel(ctx)
	if err := reconciler.SetupWithManager(ctx, mgr, testControllerOptions(concurrent)); err != nil {
		cancel()
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "manager stopped: %v\n", err)
		}
	}()
	return func() { cancel(); <-done }, nil
}

const controllerName = "kustomize-controller"

// testControllerOptions retries failures fast, so stories that fix an
// object after a failure wait little.
func testControllerOptions(concurrent int) reconcile.ControllerOptions {
	return reconcile.ControllerOptions{Concurrent: concurrent,
		RateLimiter: fluxcontroller.RateLimiterOptions{MinRetryDelay: 100 * time.Millisecond, MaxRetryDelay: 5 * time.Second}}
}

// newReconciler returns a reconciler configured as main.go does, with
// test-sized delays.
func newReconciler(c client.Client, reader client.Reader, rec events.Recorder) *KustomizationReconciler {
	return &KustomizationReconciler{
		Client:             c,
		APIReader:          reader,
		Events:             rec,
		Artifacts:          &artifactcache.Cache{Fetcher: artifact.NewFetcher(1, 10*time.Second, 0)},
		Builds:             &kustomize.BuildCache{},
		ControllerName:     controllerName,
		ConcurrentSSA:      4,
		RequeueDependency:  time.Second,
		HealthPollInterval: 500 * time.Millisecond,
		StrictSubstitution: true,
	}
}

// publish serves files as an artifact and returns it with a Git-style
// revision derived from the content.
func publish(t testing.TB, files map[string]string) *meta.Artifact {
	t.Helper()
	name := fmt.Sprintf("gitrepository/%s/%d.tar.gz", t.Name(), time.Now().UnixNano())
	url, digest, size, err := artifacts.AddFiles(name, files)
	if err != nil {
		t.Fatal(err)
	}
	return artifactFor(name, url, digest, size)
}

// publishDir serves a directory of the repository as an artifact.
func publishDir(t testing.TB, dir string) *meta.Artifact {
	t.Helper()
	name := fmt.Sprintf("gitrepository/%s/%d.tar.gz", t.Name(), time.Now().UnixNano())
	url, digest, size, err := artifacts.AddDir(name, dir)
	if err != nil {
		t.Fatal(err)
	}
	return artifactFor(name, url, digest, size)
}

func artifactFor(name, url, digest string, size int64) *meta.Artifact {
	sum := sha1.Sum([]byte(digest))
	return &meta.Artifact{
		Path:           name,
		URL:            url,
		Revision:       "main@sha1:" + hex.EncodeToString(sum[:]),
		Digest:         digest,
		Size:           &size,
		LastUpdateTime: metav1.Now(),
	}
}

// seedDir returns a directory of examples/seed.
func seedDir(t testing.TB, name string) string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "examples", "seed", name)
}

// newGitRepository creates a GitRepository whose status carries art (nil:
// no artifact yet), as source-controller would publish it.
func newGitRepository(t testing.TB, ns, name string, art *meta.Artifact) *sourcev1.GitRepository {
	t.Helper()
	repo := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: sourcev1.GitRepositorySpec{
			URL:      "https://example.com/org/repo",
			Interval: metav1.Duration{Duration: time.Hour},
		},
	}
	if err := env.Client.Create(context.Background(), repo); err != nil {
		t.Fatal(err)
	}
	if art != nil {
		setArtifact(t, repo, art)
	}
	return repo
}

// setArtifact publishes a new artifact on the source's status.
func setArtifact(t testing.TB, repo *sourcev1.GitRepository, art *meta.Artifact) {
	t.Helper()
	g := NewWithT(t)
	g.Eventually(func() error {
		cur := &sourcev1.GitRepository{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(repo), cur); err != nil {
			return err
		}
		cur.Status.Artifact = art
		conditions.MarkTrue(cur, meta.ReadyCondition, meta.SucceededReason, "stored artifact for revision %s", art.Revision)
		return env.Client.Status().Update(context.Background(), cur)
	}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
}

// newKustomization creates a Kustomization of the GitRepository in ns.
func newKustomization(t *testing.T, ns, name, source string, mutate func(*kustomizev1.Kustomization)) *kustomizev1.Kustomization {
	t.Helper()
	ks := &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: kustomizev1.KustomizationSpec{
			Interval:  metav1.Duration{Duration: time.Hour},
			Prune:     true,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: source},
		},
	}
	if mutate != nil {
		mutate(ks)
	}
	if err := env.Client.Create(context.Background(), ks); err != nil {
		t.Fatal(err)
	}
	return ks
}

// readyCondition polls the Kustomization until its Ready condition
// matches status and reason, and returns the object.
func waitReady(t *testing.T, ks *kustomizev1.Kustomization, status metav1.ConditionStatus, reason string, timeout time.Duration) *kustomizev1.Kustomization {
	t.Helper()
	g := NewWithT(t)
	cur := &kustomizev1.Kustomization{}
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(ks), cur)).To(Succeed())
		c := conditions.Get(cur, meta.ReadyCondition)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(status), "Ready: %s: %s", c.Reason, c.Message)
		g.Expect(c.Reason).To(Equal(reason), "Ready: %s: %s", c.Reason, c.Message)
		if status == metav1.ConditionTrue {
			// Conditions and the other status fields may land in separate patches.
			g.Expect(cur.Status.LastAppliedRevision).NotTo(BeEmpty())
			g.Expect(cur.Status.LastAppliedRevision).To(Equal(cur.Status.LastAttemptedRevision))
		}
	}, timeout, 200*time.Millisecond).Should(Succeed())
	return cur
}

// exists reports whether the object is in the cluster.
func exists(gvk schema.GroupVersionKind, ns, name string) bool {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u)
	return err == nil
}

var (
	configMapGVK  = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	deploymentGVK = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	namespaceGVK  = schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}
)

func configMap(ns, name string, extra string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\n%sdata:\n  key: value\n", name, ns, extra)
}

// waitApplied polls until the Kustomization is Ready with rev applied.
// (Conditions and other status fields may land in separate patches.)
func waitApplied(t *testing.T, ks *kustomizev1.Kustomization, rev string, timeout time.Duration) *kustomizev1.Kustomization {
	t.Helper()
	cur := &kustomizev1.Kustomization{}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(ks), cur)).To(Succeed())
		g.Expect(conditions.IsReady(cur)).To(BeTrue(), "Ready: %s", conditions.GetMessage(cur, meta.ReadyCondition))
		g.Expect(cur.Status.LastAppliedRevision).To(Equal(rev))
	}, timeout, 200*time.Millisecond).Should(Succeed())
	return cur
}
