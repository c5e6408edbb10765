package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"

	helmv2 "gotk.dev/pkg/apis/helm/v2"

	"gotk.dev/helm-controller/internal/release"
)

// TestHelmTests: with test.enable, the chart's test Pod runs after the
// install (kwok finishes it as annotated); a passing test makes Ready
// report TestSucceeded; a failing one fails the release unless ignored.
func TestHelmTests(t *testing.T) {
	startController(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	publishChart(t, ns, "app", appChart(t, "1.0.0"), "1.0.0")

	t.Run("pass", func(t *testing.T) {
		g := NewWithT(t)
		hr := newRelease(ns, "tpass", "app", "testExit: \"0\"\n")
		hr.Spec.Test = &helmv2.Test{Enable: true}
		g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
		got := eventuallyReady(t, hr, 90*time.Second)
		g.Expect(conditions.GetReason(got, meta.ReadyCondition)).To(Equal(helmv2.TestSucceededReason))
		g.Expect(conditions.IsTrue(got, helmv2.TestSuccessCondition)).To(BeTrue())
		g.Expect(got.Status.History.Latest().GetTestHooks()).To(HaveKey("tpass-test"))
		g.Expect(got.Status.History.Latest().GetTestHooks()["tpass-test"].Phase).To(Equal("Succeeded"))
	})

	t.Run("fail", func(t *testing.T) {
		g := NewWithT(t)
		hr := newRelease(ns, "tfail", "app", "testExit: \"1\"\n")
		hr.Spec.Test = &helmv2.Test{Enable: true}
		g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
		got := eventuallyCondition(t, hr, meta.StalledCondition, true, release.ReasonRetriesExceeded, 90*time.Second)
		g.Expect(conditions.GetReason(got, helmv2.TestSuccessCondition)).To(Equal(helmv2.TestFailedReason))
		g.Expect(conditions.GetMessage(got, helmv2.TestSuccessCondition)).To(ContainSubstring("Helm test failed for release " + ns + "/tfail.v1"))
		g.Expect(conditions.IsReady(got)).To(BeFalse())
	})

	t.Run("fail ignored", func(t *testing.T) {
		g := NewWithT(t)
		hr := newRelease(ns, "tign", "app", "testExit: \"1\"\n")
		hr.Spec.Test = &helmv2.Test{Enable: true, IgnoreFailures: true}
		g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
		got := eventuallyReady(t, hr, 90*time.Second)
		g.Expect(conditions.GetReason(got, helmv2.TestSuccessCondition)).To(Equal(helmv2.TestFailedReason))
	})

	t.Run("filtered out", func(t *testing.T) {
		g := NewWithT(t)
		hr := newRelease(ns, "tfilt", "app", "testExit: \"1\"\n")
		hr.Spec.Test = &helmv2.Test{Enable: true, Filters: []helmv2.Filter{{Name: "tfilt-test", Exclude: true}}}
		g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
		got := eventuallyReady(t, hr, 90*time.Second)
		g.Expect(conditions.IsTrue(got, helmv2.TestSuccessCondition)).To(BeTrue())
	})
}
