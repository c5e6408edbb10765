package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	notificationv1 "gotk.dev/pkg/apis/notification/v1"
	"gotk.dev/pkg/runtime/metricstest"
)

// TestReceiverInterval: spec.interval is how often a Ready Receiver is
// reconciled again with nothing watched changing (Flux: "the interval at
// which to reconcile the Receiver", default 10m). A Receiver with 1s is
// reconciled again and again, and a status edit the watch filters out
// (the generation is unchanged) is undone by the next periodic
// reconcile; a Receiver left at the default is reconciled once.
func TestReceiverInterval(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "token"},
		StringData: map[string]string{"token": "t"}})).To(Succeed())
	fast := receiver(ns, "fast", "generic")
	fast.Spec.Interval = &metav1.Duration{Duration: time.Second}
	slow := receiver(ns, "slow", "generic")
	g.Expect(env.Client.Create(ctx, fast)).To(Succeed())
	g.Expect(env.Client.Create(ctx, slow)).To(Succeed())
	for _, r := range []*notificationv1.Receiver{fast, slow} {
		g.Eventually(func(g Gomega) {
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(r), r)).To(Succeed())
			g.Expect(conditions.IsReady(r)).To(BeTrue())
		}, 20*time.Second, 50*time.Millisecond).Should(Succeed())
	}
	g.Expect(slow.Spec.Interval.Duration).To(Equal(notificationv1.DefaultReceiverInterval), "the CRD default")

	reconciles := func(name string) func() (uint64, error) {
		return func() (uint64, error) { return metricstest.Reconciles(notificationv1.ReceiverKind, ns, name) }
	}
	fastFirst, err := reconciles("fast")()
	g.Expect(err).NotTo(HaveOccurred())
	// One interval on, the slow Receiver's first reconciles have settled.
	g.Eventually(reconciles("fast"), 10*time.Second, 100*time.Millisecond).Should(BeNumerically(">=", fastFirst+1))
	slowFirst, err := reconciles("slow")()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(slowFirst).To(BeNumerically(">=", 1))
	g.Eventually(reconciles("fast"), 10*time.Second, 100*time.Millisecond).Should(BeNumerically(">=", fastFirst+4))
	g.Expect(reconciles("slow")()).To(Equal(slowFirst), "a 10m interval does not requeue within seconds")

	// A status edit is not a generation change: only the interval heals it.
	want := fast.Status.WebhookPath
	g.Expect(want).NotTo(BeEmpty())
	g.Eventually(func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(fast), fast); err != nil {
			return err
		}
		fast.Status.WebhookPath = ""
		return env.Client.Status().Update(ctx, fast)
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(fast), fast)).To(Succeed())
		g.Expect(fast.Status.WebhookPath).To(Equal(want))
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
}
