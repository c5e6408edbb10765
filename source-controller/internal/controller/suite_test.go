package controller

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	fluxcontroller "github.com/fluxcd/pkg/runtime/controller"
	"github.com/fluxcd/pkg/runtime/events"
	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/artifact"
	"gotk.dev/pkg/runtime/metricstest"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testenv"
	"gotk.dev/pkg/testserver"
)

var env *testenv.Environment

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// testMaxCheckoutBytes is the checkout size limit of the shared test
// controller, small enough for a bad-input story.
const testMaxCheckoutBytes = 1 << 20

// harness is the controller under test, started once under a real manager
// for every test of the package: artifact storage served over HTTP, events
// posted to a webhook sink, ref listings never reused (TTL 0) so a push is
// seen by the next reconcile.
type harness struct {
	storage    *artifact.Storage
	server     *httptest.Server
	sink       *testserver.WebhookSink
	rec        events.Recorder
	reconciler *GitRepositoryReconciler
}

var (
	harnessOnce sync.Once
	shared      *harness
	harnessErr  error
)

func startHarness(t testing.TB) *harness {
	t.Helper()
	harnessOnce.Do(func() {
		shared, harnessErr = newHarness()
	})
	if harnessErr != nil {
		t.Fatalf("starting the controller: %v", harnessErr)
	}
	return shared
}

func newHarness() (*harness, error) {
	h := &harness{}
	ctrl.SetLogger(logr.Discard())
	dir, err := os.MkdirTemp("", "source-controller-test-")
	if err != nil {
		return nil, err
	}
	// Retention 2 with no TTL: a third artifact collects the first at once.
	if h.storage, err = artifact.NewStorage(filepath.Join(dir, "storage"), "", 2, 0); err != nil {
		return nil, err
	}
	h.server = httptest.NewServer(artifact.NewServer(h.storage))
	h.storage.Hostname = h.server.URL
	if h.sink, err = testserver.NewWebhookSink(); err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(env.Config, testManagerOptions())
	if err != nil {
		return nil, err
	}
	if h.rec, err = events.NewRecorder(ctrl.Log, h.sink.URL(), "source-controller", events.WithManager(mgr)); err != nil {
		return nil, err
	}
	h.reconciler, err = SetupGitRepository(context.Background(), mgr, h.rec, h.storage, GitRepositoryOptions{
		ControllerName: "source-controller", ControllerOptions: testControllerOptions(4), CacheDir: filepath.Join(dir, "cache"),
		MaxCheckoutBytes: testMaxCheckoutBytes, WorkloadIdentity: true, CloudHTTPClient: &http.Client{Transport: &testCloudTransport},
	})
	if err != nil {
		return nil, err
	}
	if err := SetupArtifactGenerator(mgr, h.rec, h.storage, ArtifactGeneratorOptions{
		ControllerName: "source-controller", ControllerOptions: testControllerOptions(2), Fetcher: artifact.NewFetcher(2, 10*time.Second, 0),
	}); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = mgr.Start(ctx) }()
	// Stop the manager before the control plane, or kube-apiserver waits on its watches.
	env.AddCleanup(func() { cancel(); <-done })
	if !mgr.GetCache().WaitForCacheSync(context.Background()) {
		return nil, context.DeadlineExceeded
	}
	return h, nil
}

// testManagerOptions are the options of the package's shared managers:
// they leave the objects of a test's own shard manager alone.
func testManagerOptions() ctrl.Options {
	return ctrl.Options{Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		Cache: cache.Options{DefaultLabelSelector: metricstest.ExcludeShards()}}
}

// testControllerOptions retries failures fast, so stories that fix an
// object after a failure wait little.
func testControllerOptions(concurrent int) reconcile.ControllerOptions {
	return reconcile.ControllerOptions{Concurrent: concurrent,
		RateLimiter: fluxcontroller.RateLimiterOptions{MinRetryDelay: 100 * time.Millisecond, MaxRetryDelay: 5 * time.Second}}
}

// newGitRepository returns a GitRepository with a long interval, so only
// spec changes and reconcile requests trigger reconciles.
func newGitRepository(ns, name, url string, ref *sourcev1.GitRepositoryRef) *sourcev1.GitRepository {
	return &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: sourcev1.GitRepositorySpec{
			URL: url, Reference: ref, Interval: metav1.Duration{Duration: time.Hour},
			Timeout: &metav1.Duration{Duration: 20 * time.Second},
		},
	}
}

func get(g Gomega, obj *sourcev1.GitRepository) *sourcev1.GitRepository {
	out := &sourcev1.GitRepository{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), out)).To(Succeed())
	return out
}

// waitReady waits until obj is Ready for its current generation and
// returns it.
func waitReady(g Gomega, obj *sourcev1.GitRepository) *sourcev1.GitRepository {
	var got *sourcev1.GitRepository
	g.Eventually(func(g Gomega) {
		got = get(g, obj)
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation), "%s: %v", got.Name, got.Status.Conditions)
		g.Expect(conditions.IsReady(got)).To(BeTrue(), "Ready: %s", conditions.GetMessage(got, meta.ReadyCondition))
	}, 60*time.Second, 100*time.Millisecond).Should(Succeed())
	return got
}

// waitCondition waits until condition typ has status and reason, and
// returns the object.
func waitCondition(g Gomega, obj *sourcev1.GitRepository, typ string, status metav1.ConditionStatus, reason string) *sourcev1.GitRepository {
	var got *sourcev1.GitRepository
	g.Eventually(func(g Gomega) {
		got = get(g, obj)
		c := conditions.Get(got, typ)
		g.Expect(c).NotTo(BeNil(), "no %s condition; conditions: %v", typ, got.Status.Conditions)
		g.Expect(c.Status).To(Equal(status), "%s: %s", c.Reason, c.Message)
		g.Expect(c.Reason).To(Equal(reason), "message: %s", c.Message)
	}, 60*time.Second, 100*time.Millisecond).Should(Succeed())
	return got
}

// requestReconcile sets reconcile.fluxcd.io/requestedAt and waits until the
// controller has handled it.
func requestReconcile(g Gomega, obj *sourcev1.GitRepository) *sourcev1.GitRepository {
	token := time.Now().Format(time.RFC3339Nano)
	g.Eventually(func() error {
		cur := get(g, obj)
		if cur.Annotations == nil {
			cur.Annotations = map[string]string{}
		}
		cur.Annotations[meta.ReconcileRequestAnnotation] = token
		return env.Client.Update(context.Background(), cur)
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
	var got *sourcev1.GitRepository
	g.Eventually(func(g Gomega) {
		got = get(g, obj)
		g.Expect(got.Status.LastHandledReconcileAt).To(Equal(token))
	}, 60*time.Second, 100*time.Millisecond).Should(Succeed())
	return got
}
