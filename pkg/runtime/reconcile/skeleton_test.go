package reconcile_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/events"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testenv"
	"gotk.dev/pkg/testserver"
)

var env *testenv.Environment

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// scriptedKind is a controller whose steps return what the test says.
type scriptedKind struct {
	err       error
	calls     int
	finalized int
}

func (k *scriptedKind) Reconcile(_ context.Context, obj *sourcev1.GitRepository) (string, string, error) {
	k.calls++
	if k.err != nil {
		return "", "", k.err
	}
	return "Succeeded", "stored artifact for " + obj.Spec.URL, nil
}

func (k *scriptedKind) Finalize(context.Context, *sourcev1.GitRepository) error {
	k.finalized++
	return nil
}

func newReconciler(t *testing.T, kind *scriptedKind, sink *testserver.WebhookSink) *reconcile.Reconciler[*sourcev1.GitRepository] {
	t.Helper()
	clientset, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	broadcaster := record.NewBroadcaster()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: clientset.CoreV1().Events("")})
	t.Cleanup(broadcaster.Shutdown)
	kube := broadcaster.NewRecorder(env.Scheme, corev1.EventSource{Component: "test-controller"})
	rec, err := events.NewRecorder(ctrl.Log, sink.URL(), "test-controller",
		events.WithScheme(env.Scheme), events.WithLegacyEventRecorder(kube))
	if err != nil {
		t.Fatal(err)
	}
	return &reconcile.Reconciler[*sourcev1.GitRepository]{
		Client:         env.Client,
		Events:         rec,
		ControllerName: "test-controller",
		NewObject:      func() *sourcev1.GitRepository { return &sourcev1.GitRepository{} },
		Negative:       []string{sourcev1.FetchFailedCondition},
		Kind:           kind,
	}
}

// TestSkeletonLifecycle walks one object through success, failures of each
// class, a reconcile request, suspension and deletion on a real API server.
func TestSkeletonLifecycle(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	sink := testserver.NewWebhookSinkForTest(t)
	kind := &scriptedKind{}
	r := newReconciler(t, kind, sink)

	obj := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns},
		Spec:       sourcev1.GitRepositorySpec{URL: "https://example.com/app", Interval: metav1.Duration{Duration: time.Minute}},
	}
	g.Expect(env.Client.Create(ctx, obj)).To(Succeed())
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(obj)}
	get := func() *sourcev1.GitRepository {
		out := &sourcev1.GitRepository{}
		g.Expect(env.Client.Get(ctx, req.NamespacedName, out)).To(Succeed())
		return out
	}

	// Success: finalizer, Ready=True with the kind's message, observedGeneration, requeue at the interval.
	res, err := r.Reconcile(ctx, req)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.RequeueAfter).To(BeNumerically("~", time.Minute, 10*time.Second))
	got := get()
	g.Expect(got.Finalizers).To(ContainElement(reconcile.Finalizer))
	g.Expect(conditions.IsReady(got)).To(BeTrue())
	g.Expect(conditions.GetMessage(got, meta.ReadyCondition)).To(Equal("stored artifact for https://example.com/app"))
	g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))

	// Stalling: Stalled=True, no retry, no error for the runtime; a warning event reaches the events address.
	kind.err = reconcile.Stall("URLInvalid", "url %q is not valid", "x")
	res, err = r.Reconcile(ctx, req)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res).To(Equal(ctrl.Result{}))
	got = get()
	g.Expect(conditions.IsStalled(got)).To(BeTrue())
	g.Expect(conditions.GetReason(got, meta.ReadyCondition)).To(Equal("URLInvalid"))
	reqs := sink.WaitFor(t, 1, 10*time.Second)
	var ev struct {
		InvolvedObject      corev1.ObjectReference `json:"involvedObject"`
		Severity, Reason    string
		Message             string
		ReportingController string `json:"reportingController"`
	}
	g.Expect(json.Unmarshal(reqs[0].Body, &ev)).To(Succeed())
	g.Expect(ev.InvolvedObject.Kind).To(Equal("GitRepository"))
	g.Expect(ev.Severity).To(Equal("error"))
	g.Expect(ev.Reason).To(Equal("URLInvalid"))
	g.Expect(ev.ReportingController).To(Equal("test-controller"))

	// Waiting: Reconciling with retry, requeue after the given delay, no error.
	kind.err = reconcile.Wait(5*time.Second, "DependencyNotReady", "waiting for dependency")
	res, err = r.Reconcile(ctx, req)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.RequeueAfter).To(Equal(5 * time.Second))
	got = get()
	g.Expect(conditions.IsReconciling(got)).To(BeTrue())
	g.Expect(conditions.IsStalled(got)).To(BeFalse())

	// Transient: the error goes back to the runtime for backoff.
	kind.err = errors.New("connection refused")
	_, err = r.Reconcile(ctx, req)
	g.Expect(err).To(MatchError(ContainSubstring("connection refused")))
	g.Expect(conditions.GetReason(get(), meta.ReadyCondition)).To(Equal(meta.FailedReason))

	// A reconcile request is recorded as handled; recovery clears the failure.
	kind.err = nil
	got = get()
	got.Annotations = map[string]string{meta.ReconcileRequestAnnotation: "now-1"}
	g.Expect(env.Client.Update(ctx, got)).To(Succeed())
	_, err = r.Reconcile(ctx, req)
	g.Expect(err).NotTo(HaveOccurred())
	got = get()
	g.Expect(got.Status.LastHandledReconcileAt).To(Equal("now-1"))
	g.Expect(conditions.IsReady(got)).To(BeTrue())
	g.Expect(conditions.IsReconciling(got)).To(BeFalse())

	// Suspended: the steps do not run and status is untouched.
	got.Spec.Suspend = true
	g.Expect(env.Client.Update(ctx, got)).To(Succeed())
	calls := kind.calls
	_, err = r.Reconcile(ctx, req)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(kind.calls).To(Equal(calls))

	// Delete: Finalize runs, the finalizer goes, the object is gone.
	g.Expect(env.Client.Delete(ctx, get())).To(Succeed())
	_, err = r.Reconcile(ctx, req)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(kind.finalized).To(Equal(1))
	err = env.Client.Get(ctx, req.NamespacedName, &sourcev1.GitRepository{})
	g.Expect(client.IgnoreNotFound(err)).To(Succeed())
	g.Expect(err).To(HaveOccurred())
}

// TestPatchRequests counts what the skeleton sends: a new object costs one
// metadata patch (the finalizer) and one status patch per patch point,
// with no reads and no separate conditions request; a reconcile that
// changes nothing sends nothing.
func TestPatchRequests(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	r := newReconciler(t, &scriptedKind{}, testserver.NewWebhookSinkForTest(t))
	var gets, patches, statusPatches int
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	r.Client = interceptor.NewClient(wc, interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			gets++
			return c.Get(ctx, key, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
			patches++
			return c.Patch(ctx, obj, p, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
			statusPatches++
			return c.SubResource(sub).Patch(ctx, obj, p, opts...)
		},
	})

	obj := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns},
		Spec:       sourcev1.GitRepositorySpec{URL: "https://example.com/app", Interval: metav1.Duration{Duration: time.Minute}},
	}
	g.Expect(env.Client.Create(ctx, obj)).To(Succeed())
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(obj)}
	_, err = r.Reconcile(ctx, req)
	g.Expect(err).NotTo(HaveOccurred())
	// A new object: its finalizer, then its status once (no progress
	// mark before the steps: it has no stale status to hide).
	g.Expect([]int{gets, patches, statusPatches}).To(Equal([]int{1, 1, 1}), "gets, metadata patches, status patches")

	got := &sourcev1.GitRepository{}
	g.Expect(env.Client.Get(ctx, req.NamespacedName, got)).To(Succeed())
	g.Expect(got.Finalizers).To(ContainElement(reconcile.Finalizer))
	g.Expect(conditions.IsReady(got)).To(BeTrue())
	g.Expect(conditions.IsReconciling(got)).To(BeFalse())
	g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))

	gets, patches, statusPatches = 0, 0, 0
	_, err = r.Reconcile(ctx, req)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect([]int{gets, patches, statusPatches}).To(Equal([]int{1, 0, 0}), "gets, metadata patches, status patches")
}
