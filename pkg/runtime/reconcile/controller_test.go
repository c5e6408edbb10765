package reconcile_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	fluxcontroller "github.com/fluxcd/pkg/runtime/controller"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/runtime/metricstest"
	"gotk.dev/pkg/runtime/reconcile"
)

// togglingKind succeeds, or fails with a transient error while failing is set.
type togglingKind struct{ failing atomic.Bool }

func (k *togglingKind) Reconcile(context.Context, *sourcev1.GitRepository) (string, string, error) {
	if k.failing.Load() {
		return "", "", reconcile.Retry(sourcev1.GitOperationFailedReason, "remote unreachable")
	}
	return meta.SucceededReason, "stored artifact", nil
}

func (k *togglingKind) Finalize(context.Context, *sourcev1.GitRepository) error { return nil }

// TestMetricsSetupWithManager runs a kind through SetupWithManager on a
// real manager and checks the metrics of each state: Ready, failing
// (Ready False, Reconciling True), suspended, deleted.
func TestMetricsSetupWithManager(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}})
	g.Expect(err).NotTo(HaveOccurred())
	kind := &togglingKind{}
	r := &reconcile.Reconciler[*sourcev1.GitRepository]{
		Client: mgr.GetClient(), ControllerName: "metrics-test", Kind: kind,
		NewObject: func() *sourcev1.GitRepository { return &sourcev1.GitRepository{} },
	}
	g.Expect(r.SetupWithManager(mgr, reconcile.ControllerOptions{Concurrent: 2,
		RateLimiter: fluxcontroller.RateLimiterOptions{MinRetryDelay: 100 * time.Millisecond, MaxRetryDelay: time.Second}})).To(Succeed())
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = mgr.Start(mctx) }()
	t.Cleanup(func() { cancel(); <-done })

	ns := env.NewNamespace(t)
	obj := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "measured"},
		Spec: sourcev1.GitRepositorySpec{URL: "https://example.com/repo", Interval: metav1.Duration{Duration: time.Hour}}}
	g.Expect(env.Client.Create(ctx, obj)).To(Succeed())
	kindName := sourcev1.GitRepositoryKind
	metricstest.ExpectMeasured(g, kindName, ns, obj.Name, metav1.ConditionTrue, false)
	expectCondition(g, kindName, ns, obj.Name, meta.ReconcilingCondition, "Unknown") // absent
	expectCondition(g, kindName, ns, obj.Name, meta.StalledCondition, "Unknown")

	kind.failing.Store(true)
	update(g, obj, func(o *sourcev1.GitRepository) {
		o.Annotations = map[string]string{meta.ReconcileRequestAnnotation: time.Now().String()}
	})
	metricstest.ExpectMeasured(g, kindName, ns, obj.Name, metav1.ConditionFalse, false)
	expectCondition(g, kindName, ns, obj.Name, meta.ReconcilingCondition, "True")

	kind.failing.Store(false)
	update(g, obj, func(o *sourcev1.GitRepository) { o.Spec.Suspend = true })
	metricstest.ExpectMeasured(g, kindName, ns, obj.Name, metav1.ConditionFalse, true)

	g.Expect(env.Client.Delete(ctx, obj)).To(Succeed())
	metricstest.ExpectForgotten(g, kindName, ns, obj.Name)
}

func expectCondition(g Gomega, kind, ns, name, typ, want string) {
	g.Eventually(func() (string, error) {
		return metricstest.Condition(kind, ns, name, typ)
	}, 20*time.Second, 50*time.Millisecond).Should(Equal(want), typ)
}

func update(g Gomega, obj *sourcev1.GitRepository, mutate func(*sourcev1.GitRepository)) {
	g.Eventually(func() error {
		cur := &sourcev1.GitRepository{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), cur); err != nil {
			return err
		}
		mutate(cur)
		return env.Client.Update(context.Background(), cur)
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
}
