package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	fluxcontroller "github.com/fluxcd/pkg/runtime/controller"
	"github.com/fluxcd/pkg/runtime/events"
	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"gotk.dev/image-automation-controller/internal/tagstore"
	imagev1 "gotk.dev/pkg/apis/image/v1"
	"gotk.dev/pkg/oci"
	"gotk.dev/pkg/runtime/metricstest"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testenv"
	"gotk.dev/pkg/testserver"
)

const (
	testController = "image-automation-controller"
	regUser        = "robot"
	regPassword    = "registry-pw-not-for-logs"
	gitUser        = "git-bot"
	gitPassword    = "git-pw-not-for-logs"
	// automationWorkers is the controller's default --concurrent.
	automationWorkers = 4
)

var (
	env    *testenv.Environment
	reg    *testserver.Registry
	sink   *testserver.WebhookSink
	gitSrv *testserver.GitHTTP
	sshSrv *testserver.GitSSH
	// automations is the running ImageUpdateAutomation reconciler.
	automations *ImageUpdateAutomationReconciler
	store       *tagstore.Store
)

// TestMain runs one control plane, one authenticated registry, one event
// sink and the two reconcilers under a real manager for every story.
func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	ctrl.SetLogger(logr.Discard())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var err error
	if env, err = testenv.Start(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	if reg, err = testserver.NewRegistry(testserver.RegistryOptions{Auth: testserver.BasicAuth{Username: regUser, Password: regPassword}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer reg.Close()
	if gitSrv, err = testserver.NewGitHTTP(testserver.GitHTTPOptions{Auth: testserver.BasicAuth{Username: gitUser, Password: gitPassword}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer gitSrv.Close()
	if sshSrv, err = testserver.NewGitSSH(testserver.GitSSHOptions{Repos: gitSrv.GitRepos}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer sshSrv.Close()
	if sink, err = testserver.NewWebhookSink(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "tagstore-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if store, err = tagstore.Open(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 env.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Client:                 client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}, &corev1.ServiceAccount{}, &corev1.Namespace{}}}},
		Cache:                  cache.Options{DefaultLabelSelector: metricstest.ExcludeShards()},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	rec, err := events.NewRecorder(ctrl.Log, sink.URL(), testController, events.WithManager(mgr))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fast := func(workers int) reconcile.ControllerOptions {
		return reconcile.ControllerOptions{Concurrent: workers,
			RateLimiter: fluxcontroller.RateLimiterOptions{MinRetryDelay: 100 * time.Millisecond, MaxRetryDelay: 2 * time.Second}}
	}
	repos := &ImageRepositoryReconciler{Client: mgr.GetClient(), Events: rec, Store: store, ControllerName: testController}
	if err := repos.SetupWithManager(mgr, fast(2)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	policies := &ImagePolicyReconciler{Client: mgr.GetClient(), Events: rec, Store: store, ControllerName: testController}
	if err := policies.SetupWithManager(ctx, mgr, fast(2)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	automations = &ImageUpdateAutomationReconciler{Client: mgr.GetClient(), Events: rec, ControllerName: testController}
	if err := automations.SetupWithManager(mgr, fast(automationWorkers)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- mgr.Start(ctx) }()
	code := m.Run()
	cancel()
	<-mgrDone
	return code
}

// pushImage pushes one random image under each tag of host/<path> and
// returns it.
func pushImage(t testing.TB, path string, tags ...string) v1.Image {
	t.Helper()
	repo, err := oci.ParseRepository(reg.Host()+"/"+path, true)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	auth := remote.WithAuth(&authn.Basic{Username: regUser, Password: regPassword})
	for _, tag := range tags {
		if err := remote.Write(repo.Tag(tag), img, auth); err != nil {
			t.Fatalf("push %s:%s: %v", path, tag, err)
		}
	}
	return img
}

// dockerSecret creates a kubernetes.io/dockerconfigjson Secret for the
// test registry with the given password.
func dockerSecret(t testing.TB, ns, name, password string) {
	t.Helper()
	cfg, _ := json.Marshal(map[string]any{"auths": map[string]any{reg.Host(): map[string]string{"username": regUser, "password": password}}})
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: cfg},
	}
	if err := env.Client.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

func newRepository(ns, name, path string) *imagev1.ImageRepository {
	return &imagev1.ImageRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: imagev1.ImageRepositorySpec{
			Image:     reg.Host() + "/" + path,
			Interval:  metav1.Duration{Duration: time.Hour},
			SecretRef: &meta.LocalObjectReference{Name: "creds"},
			Insecure:  true,
		},
	}
}

func newPolicy(ns, name, repo string, choice imagev1.ImagePolicyChoice) *imagev1.ImagePolicy {
	return &imagev1.ImagePolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: imagev1.ImagePolicySpec{
			ImageRepositoryRef: meta.NamespacedObjectReference{Name: repo},
			Policy:             choice,
		},
	}
}

type statusObject interface {
	client.Object
	meta.ObjectWithConditions
	GetObservedGeneration() int64
}

// eventually polls the object until check passes and returns it.
func eventually[T statusObject](t *testing.T, obj T, check func(g Gomega, obj T)) T {
	t.Helper()
	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)).To(Succeed())
		check(g, obj)
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	return obj
}

// readyTrue waits for Ready=True at the current generation and checks the
// object is Current for kstatus.
func readyTrue[T statusObject](t *testing.T, obj T) T {
	t.Helper()
	obj = eventually(t, obj, func(g Gomega, o T) {
		g.Expect(conditions.IsReady(o)).To(BeTrue(), "Ready: %s", conditions.GetMessage(o, meta.ReadyCondition))
		g.Expect(o.GetObservedGeneration()).To(Equal(o.GetGeneration()))
	})
	expectKstatus(t, obj, status.CurrentStatus)
	return obj
}

// stalled waits for Stalled=True with the reason and a message containing
// msg, and checks kstatus reports Failed.
func stalled[T statusObject](t *testing.T, obj T, reason, msg string) T {
	t.Helper()
	obj = eventually(t, obj, func(g Gomega, o T) {
		g.Expect(conditions.IsStalled(o)).To(BeTrue())
		g.Expect(conditions.GetReason(o, meta.StalledCondition)).To(Equal(reason))
		g.Expect(conditions.GetMessage(o, meta.ReadyCondition)).To(ContainSubstring(msg))
		g.Expect(conditions.IsFalse(o, meta.ReadyCondition)).To(BeTrue())
		// Conditions and the rest of status are patched separately.
		g.Expect(o.GetObservedGeneration()).To(Equal(o.GetGeneration()))
	})
	expectKstatus(t, obj, status.FailedStatus)
	return obj
}

// notReady waits for Ready=False with the reason and message.
func notReady[T statusObject](t *testing.T, obj T, reason, msg string) T {
	t.Helper()
	return eventually(t, obj, func(g Gomega, o T) {
		g.Expect(conditions.IsFalse(o, meta.ReadyCondition)).To(BeTrue())
		g.Expect(conditions.GetReason(o, meta.ReadyCondition)).To(Equal(reason))
		g.Expect(conditions.GetMessage(o, meta.ReadyCondition)).To(ContainSubstring(msg))
	})
}

func expectKstatus(t *testing.T, obj runtime.Object, want status.Status) {
	t.Helper()
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	res, err := status.Compute(&unstructured.Unstructured{Object: u})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != want {
		t.Fatalf("kstatus = %s (%s), want %s", res.Status, res.Message, want)
	}
}

// waitEvent waits until the sink received an event for the object whose
// message contains msg.
func waitEvent(t *testing.T, obj client.Object, msg string) {
	t.Helper()
	NewWithT(t).Eventually(func() bool {
		for _, r := range sink.Requests() {
			var ev struct {
				InvolvedObject corev1.ObjectReference `json:"involvedObject"`
				Message        string                 `json:"message"`
			}
			if r.JSON(&ev) == nil && ev.InvolvedObject.Name == obj.GetName() &&
				ev.InvolvedObject.Namespace == obj.GetNamespace() && strings.Contains(ev.Message, msg) {
				return true
			}
		}
		return false
	}, 30*time.Second, 100*time.Millisecond).Should(BeTrue(), "no event %q for %s", msg, obj.GetName())
}

// requestReconcile sets reconcile.fluxcd.io/requestedAt as `gotk reconcile` does.
func requestReconcile(t testing.TB, obj client.Object) {
	t.Helper()
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[meta.ReconcileRequestAnnotation] = time.Now().Format(time.RFC3339Nano)
	obj.SetAnnotations(ann)
	if err := env.Client.Patch(context.Background(), obj, patch); err != nil {
		t.Fatal(err)
	}
}

type metaRef = meta.LocalObjectReference

func mustGetSecret(t *testing.T, ns, name string) *corev1.Secret {
	t.Helper()
	var s corev1.Secret
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}
