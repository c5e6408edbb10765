package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// TestDriftDetection: with driftDetection enabled, a scaled Deployment and
// a deleted ConfigMap are put back without a Helm upgrade; in warn mode a
// changed ConfigMap is reported in the Drifted condition and left alone;
// ignore rules leave the named fields out.
func TestDriftDetection(t *testing.T) {
	startController(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	publishChart(t, ns, "app", appChart(t, "1.0.0"), "1.0.0")

	t.Run("enabled corrects", func(t *testing.T) {
		g := NewWithT(t)
		hr := newRelease(ns, "drift", "app", "")
		hr.Spec.DriftDetection = &helmv2.DriftDetection{Mode: helmv2.DriftDetectionEnabled}
		g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
		got := eventuallyReady(t, hr, 90*time.Second)
		g.Expect(conditions.Has(got, helmv2.DriftedCondition)).To(BeFalse(), "no false drift right after install")

		var deploy appsv1.Deployment
		key := types.NamespacedName{Namespace: ns, Name: "drift"}
		g.Expect(env.Client.Get(ctx, key, &deploy)).To(Succeed())
		three := int32(3)
		deploy.Spec.Replicas = &three
		g.Expect(env.Client.Update(ctx, &deploy)).To(Succeed())
		g.Expect(env.Client.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metaOf(ns, "drift-config")})).To(Succeed())

		requestReconcile(t, hr)
		g.Eventually(func(g Gomega) {
			g.Expect(env.Client.Get(ctx, key, &deploy)).To(Succeed())
			g.Expect(*deploy.Spec.Replicas).To(Equal(int32(1)))
			g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "drift-config"}, &corev1.ConfigMap{})).To(Succeed())
		}, 60*time.Second, 250*time.Millisecond).Should(Succeed())
		g.Expect(releaseHistory(t, hr)).To(HaveLen(1), "drift is corrected without a Helm upgrade")
		g.Eventually(func() bool { return hasEvent(ns, "drift", helmv2.DriftDetectedReason, "1.0.0") }, 10*time.Second).Should(BeTrue())
	})

	t.Run("warn reports and ignore rules apply", func(t *testing.T) {
		g := NewWithT(t)
		hr := newRelease(ns, "warn", "app", "")
		hr.Spec.DriftDetection = &helmv2.DriftDetection{Mode: helmv2.DriftDetectionWarn,
			Ignore: []helmv2.IgnoreRule{{Paths: []string{"/spec/replicas"}}}}
		g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
		eventuallyReady(t, hr, 90*time.Second)

		var deploy appsv1.Deployment
		g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "warn"}, &deploy)).To(Succeed())
		two := int32(2)
		deploy.Spec.Replicas = &two
		g.Expect(env.Client.Update(ctx, &deploy)).To(Succeed())
		var cm corev1.ConfigMap
		g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "warn-config"}, &cm)).To(Succeed())
		cm.Data["message"] = "edited"
		g.Expect(env.Client.Update(ctx, &cm)).To(Succeed())

		requestReconcile(t, hr)
		got := eventuallyCondition(t, hr, helmv2.DriftedCondition, true, helmv2.DriftDetectedReason, 30*time.Second)
		msg := conditions.GetMessage(got, helmv2.DriftedCondition)
		g.Expect(msg).To(ContainSubstring("ConfigMap/" + ns + "/warn-config (data.message)"))
		g.Expect(msg).NotTo(ContainSubstring("Deployment"), "spec.replicas is ignored")
		g.Expect(conditions.IsReady(got)).To(BeTrue())
		g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "warn-config"}, &cm)).To(Succeed())
		g.Expect(cm.Data["message"]).To(Equal("edited"), "warn mode corrects nothing")
	})
}
