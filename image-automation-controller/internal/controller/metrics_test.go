package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	fluxcontroller "github.com/fluxcd/pkg/runtime/controller"
	"github.com/fluxcd/pkg/runtime/events"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	imagev1 "gotk.dev/pkg/apis/image/v1"
	"gotk.dev/pkg/runtime/metricstest"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testenv"
)

// TestMetricsImageKinds checks that a reconcile of every image kind
// exports Flux's reconcile metrics with the kind label and that deleted
// objects drop their series.
func TestMetricsImageKinds(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	policy := policyAt(t, ns, ns+"/my-app", "1.0.0")
	repo := ns + "-app"
	gitSource(t, ns, repo, gitPassword)
	// The seed's markers name another namespace's policy: nothing to
	// change, so the automation is Ready without a push.
	auto := newAutomation(ns, "measured", repo)
	g.Expect(env.Client.Create(ctx, auto)).To(Succeed())
	readyTrue(t, auto)

	objs := []struct {
		kind string
		obj  client.Object
	}{
		{imagev1.ImageRepositoryKind, &imagev1.ImageRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "my-app"}}},
		{imagev1.ImagePolicyKind, policy},
		{imagev1.ImageUpdateAutomationKind, auto},
	}
	for _, o := range objs {
		metricstest.ExpectMeasured(g, o.kind, ns, o.obj.GetName(), metav1.ConditionTrue, false)
	}
	for _, o := range objs {
		g.Expect(env.Client.Delete(ctx, o.obj)).To(Succeed())
	}
	for _, o := range objs {
		metricstest.ExpectForgotten(g, o.kind, ns, o.obj.GetName())
	}
}

// TestMetricsRetryDelay checks that --min-retry-delay reaches the image
// controllers: an ImageRepository on an unreachable registry is rescanned
// no sooner than the delay.
func TestMetricsRetryDelay(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	const minDelay = 2 * time.Second
	metricstest.StartShard(t, env.Config, env.Scheme, "retry", func(mgr ctrl.Manager) error {
		rec, err := events.NewRecorder(ctrl.Log, "", testController, events.WithManager(mgr))
		if err != nil {
			return err
		}
		r := &ImageRepositoryReconciler{Client: mgr.GetClient(), Events: rec, Store: store, ControllerName: testController}
		return r.SetupWithManager(mgr, reconcile.ControllerOptions{Concurrent: 1,
			RateLimiter: fluxcontroller.RateLimiterOptions{MinRetryDelay: minDelay, MaxRetryDelay: time.Minute}})
	})
	ports, err := testenv.FreePorts(1)
	g.Expect(err).NotTo(HaveOccurred())
	obj := &imagev1.ImageRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "unreachable", Labels: map[string]string{metricstest.ShardLabel: "retry"}},
		Spec: imagev1.ImageRepositorySpec{Image: fmt.Sprintf("127.0.0.1:%d/app", ports[0]), Insecure: true,
			Interval: metav1.Duration{Duration: time.Hour}},
	}
	g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	metricstest.ExpectBackoff(g, imagev1.ImageRepositoryKind, ns, obj.Name, minDelay)
	metricstest.ExpectMeasured(g, imagev1.ImageRepositoryKind, ns, obj.Name, metav1.ConditionFalse, false)
}
