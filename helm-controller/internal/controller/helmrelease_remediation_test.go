package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	releasecommon "helm.sh/helm/v4/pkg/release/common"
	"k8s.io/apimachinery/pkg/types"

	helmv2 "gotk.dev/pkg/apis/helm/v2"

	"gotk.dev/helm-controller/internal/release"

	"gotk.dev/helm-controller/internal/action"
)

// TestUpgradeFailureRollsBack: an upgrade the API server rejects is rolled
// back after each failure; once upgrade.remediation.retries are used up
// the HelmRelease stalls with the failure quoted, and resetAt starts over.
func TestUpgradeFailureRollsBack(t *testing.T) {
	startController(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	publishChart(t, ns, "app", appChart(t, "1.0.0"), "1.0.0")

	hr := newRelease(ns, "rb", "app", "")
	hr.Spec.Upgrade = &helmv2.Upgrade{Remediation: &helmv2.UpgradeRemediation{Retries: 1}}
	g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
	eventuallyReady(t, hr, 90*time.Second)

	g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "rb"}, hr)).To(Succeed())
	hr.Spec.Values = jsonValues("fail: true\n")
	g.Expect(env.Client.Update(ctx, hr)).To(Succeed())

	got := eventuallyCondition(t, hr, meta.StalledCondition, true, release.ReasonRetriesExceeded, 90*time.Second)
	// Conditions and the other status fields are patched separately.
	g.Eventually(func(g Gomega) {
		got = getRelease(g, hr)
		g.Expect(got.Status.UpgradeFailures).To(Equal(int64(2)))
	}, 10*time.Second).Should(Succeed())
	g.Expect(conditions.GetReason(got, helmv2.ReleasedCondition)).To(Equal(helmv2.UpgradeFailedReason))
	g.Expect(conditions.GetMessage(got, meta.ReadyCondition)).To(ContainSubstring("Invalid_Name_rb"), "Helm's error is quoted")
	g.Expect(conditions.GetReason(got, helmv2.RemediatedCondition)).To(Equal(helmv2.RollbackSucceededReason))

	// Storage: v1 install, then (upgrade failed, rollback) twice.
	hist := releaseHistory(t, hr)
	g.Expect(hist).To(HaveLen(5))
	last := hist[len(hist)-1]
	g.Expect(last.Info.Status).To(Equal(releasecommon.StatusDeployed))
	g.Expect(last.Info.Description).To(HavePrefix("Rollback to "))
	g.Expect(hist[1].Info.Status).To(Equal(releasecommon.StatusFailed))

	// Stalled: nothing more happens until a human acts.
	token := requestReconcile(t, hr)
	g.Eventually(func(g Gomega) {
		g.Expect(getRelease(g, hr).Status.LastHandledReconcileAt).To(Equal(token))
	}, 30*time.Second).Should(Succeed())
	g.Expect(releaseHistory(t, hr)).To(HaveLen(5))

	// resetAt (equal to requestedAt) resets the counters: two more
	// attempts, each rolled back, then stalled again.
	requestReconcile(t, hr, helmv2.ResetRequestAnnotation)
	g.Eventually(func(g Gomega) {
		got := getRelease(g, hr)
		g.Expect(got.Status.LastHandledResetAt).NotTo(BeEmpty())
		g.Expect(conditions.IsTrue(got, meta.StalledCondition)).To(BeTrue())
		hist := releaseHistory(t, hr)
		g.Expect(hist).NotTo(BeEmpty())
		g.Expect(hist[len(hist)-1].Version).To(Equal(9))
		g.Expect(len(hist)).To(BeNumerically("<=", helmv2.DefaultMaxHistory), "maxHistory prunes old versions")
	}, 90*time.Second, 250*time.Millisecond).Should(Succeed())

	// Fixing the values upgrades again with fresh counters.
	g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "rb"}, hr)).To(Succeed())
	hr.Spec.Values = jsonValues("message: fixed\n")
	g.Expect(env.Client.Update(ctx, hr)).To(Succeed())
	got = eventuallyReady(t, hr, 90*time.Second)
	g.Expect(got.Status.UpgradeFailures).To(BeZero())
	g.Expect(conditions.Has(got, helmv2.RemediatedCondition)).To(BeFalse())
}

// TestInstallFailureUninstallsAndRetries: a failing install is uninstalled
// and retried install.remediation.retries times, then stalls with nothing
// left installed; a fix installs with fresh counters.
func TestInstallFailureUninstallsAndRetries(t *testing.T) {
	startController(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	publishChart(t, ns, "app", appChart(t, "1.0.0"), "1.0.0")

	hr := newRelease(ns, "inst", "app", "fail: true\n")
	hr.Spec.Install = &helmv2.Install{Remediation: &helmv2.InstallRemediation{Retries: 1}}
	g.Expect(env.Client.Create(ctx, hr)).To(Succeed())

	got := eventuallyCondition(t, hr, meta.StalledCondition, true, release.ReasonRetriesExceeded, 90*time.Second)
	g.Eventually(func(g Gomega) {
		got = getRelease(g, hr)
		g.Expect(got.Status.InstallFailures).To(Equal(int64(2)))
	}, 10*time.Second).Should(Succeed())
	g.Expect(conditions.GetReason(got, helmv2.ReleasedCondition)).To(Equal(helmv2.InstallFailedReason))
	g.Expect(conditions.GetMessage(got, helmv2.ReleasedCondition)).To(ContainSubstring("Helm install failed for release " + ns + "/inst"))
	// The first failure was uninstalled; the last one (retries used up,
	// remediateLastFailure unset) is left for inspection.
	hist := releaseHistory(t, hr)
	g.Expect(hist).To(HaveLen(1))
	g.Expect(hist[0].Info.Status).To(Equal(releasecommon.StatusFailed))

	g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "inst"}, hr)).To(Succeed())
	hr.Spec.Values = jsonValues("message: ok\n")
	g.Expect(env.Client.Update(ctx, hr)).To(Succeed())
	got = eventuallyReady(t, hr, 90*time.Second)
	g.Expect(got.Status.InstallFailures).To(BeZero())
	g.Expect(releaseHistory(t, hr)[len(releaseHistory(t, hr))-1].Info.Status).To(Equal(releasecommon.StatusDeployed))
}

// TestPendingReleaseRecovered: a release left in pending-upgrade by a
// crashed controller is unlocked and upgraded, not left for a human.
func TestPendingReleaseRecovered(t *testing.T) {
	startController(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	publishChart(t, ns, "app", appChart(t, "1.0.0"), "1.0.0")

	hr := newRelease(ns, "lock", "app", "")
	g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
	eventuallyReady(t, hr, 90*time.Second)

	// Simulate a crash in the middle of an upgrade: the stored release is
	// left pending-upgrade.
	cfg := helmConfig(t, hr)
	rls, err := action.Last(cfg, "lock")
	g.Expect(err).NotTo(HaveOccurred())
	rls.Info.Status = releasecommon.StatusPendingUpgrade
	g.Expect(cfg.Releases.Update(rls)).To(Succeed())

	requestReconcile(t, hr)
	g.Eventually(func(g Gomega) {
		hist := releaseHistory(t, hr)
		g.Expect(hist).To(HaveLen(2))
		g.Expect(hist[0].Info.Status).To(Equal(releasecommon.StatusSuperseded))
		g.Expect(hist[0].Info.Description).To(ContainSubstring("unlocked from stale 'pending-upgrade'"))
		g.Expect(hist[1].Info.Status).To(Equal(releasecommon.StatusDeployed))
	}, 90*time.Second, 500*time.Millisecond).Should(Succeed())
	got := eventuallyReady(t, hr, 30*time.Second)
	g.Expect(got.Status.History.Latest().Version).To(Equal(2))
}
