package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	releasecommon "helm.sh/helm/v4/pkg/release/common"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	helmv2 "gotk.dev/pkg/apis/helm/v2"

	"gotk.dev/helm-controller/internal/release"
)

// TestHelmReleaseUpgradeOptions: each case installs the opts chart, then
// changes the values (or the chart) with one spec.upgrade, spec.rollback
// or remediation option set, and checks what the option changes.
func TestHelmReleaseUpgradeOptions(t *testing.T) {
	startController(t)
	ctx := context.Background()
	short := &metav1.Duration{Duration: 3 * time.Second}
	failOnce := func(hr *helmv2.HelmRelease) { hr.Spec.Values = jsonValues("badName: true\n") }
	lastFailure := &helmv2.UpgradeRemediation{Retries: 0, RemediateLastFailure: ptrTo(true)}
	cases := []struct {
		name    string
		values  string
		setup   func(t *testing.T, ns string)
		options func(hr *helmv2.HelmRelease)
		change  func(hr *helmv2.HelmRelease)
		check   func(t *testing.T, hr *helmv2.HelmRelease, ns, group string, hookUID string)
	}{
		{name: "defaults run upgrade hooks and replace values",
			values: "message: first\n",
			change: func(hr *helmv2.HelmRelease) { hr.Spec.Values = jsonValues("replicas: 2\n") },
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _, _ string) {
				eventuallyVersion(t, hr, 2)
				g := NewWithT(t)
				g.Expect(configMap(t, ns, "r-hook").Data["revision"]).To(Equal("2"))
				g.Expect(configMap(t, ns, "r-config").Data["message"]).To(Equal("hello"), "the previous values are not kept")
			}},
		{name: "disableHooks",
			options: func(hr *helmv2.HelmRelease) { hr.Spec.Upgrade = &helmv2.Upgrade{DisableHooks: true} },
			change:  func(hr *helmv2.HelmRelease) { hr.Spec.Values = jsonValues("message: second\n") },
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _, _ string) {
				eventuallyVersion(t, hr, 2)
				NewWithT(t).Expect(configMap(t, ns, "r-hook").Data["revision"]).To(Equal("1"), "no pre-upgrade hook ran")
			}},
		{name: "preserveValues",
			values:  "message: first\n",
			options: func(hr *helmv2.HelmRelease) { hr.Spec.Upgrade = &helmv2.Upgrade{PreserveValues: true} },
			change:  func(hr *helmv2.HelmRelease) { hr.Spec.Values = jsonValues("replicas: 2\n") },
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _, _ string) {
				eventuallyVersion(t, hr, 2)
				NewWithT(t).Expect(configMap(t, ns, "r-config").Data["message"]).To(Equal("first"))
			}},
		{name: "disableWait",
			options: func(hr *helmv2.HelmRelease) { hr.Spec.Upgrade = &helmv2.Upgrade{DisableWait: true} },
			change:  func(hr *helmv2.HelmRelease) { hr.Spec.Values = jsonValues("pvc: true\n") },
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _, _ string) {
				eventuallyVersion(t, hr, 2)
			}},
		{name: "upgrade timeout",
			options: func(hr *helmv2.HelmRelease) { hr.Spec.Upgrade = &helmv2.Upgrade{Timeout: short} },
			change:  func(hr *helmv2.HelmRelease) { hr.Spec.Values = jsonValues("pvc: true\n") },
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _, _ string) {
				// spec.timeout is a minute: failing well within it shows
				// upgrade.timeout is the one used.
				got := eventuallyCondition(t, hr, helmv2.ReleasedCondition, false, helmv2.UpgradeFailedReason, 40*time.Second)
				NewWithT(t).Expect(conditions.GetMessage(got, helmv2.ReleasedCondition)).To(ContainSubstring("PersistentVolumeClaim"))
			}},
		{name: "disableSchemaValidation",
			options: func(hr *helmv2.HelmRelease) { hr.Spec.Upgrade = &helmv2.Upgrade{DisableSchemaValidation: true} },
			change:  func(hr *helmv2.HelmRelease) { hr.Spec.Values = jsonValues("message: 5\n") },
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _, _ string) {
				eventuallyVersion(t, hr, 2)
				NewWithT(t).Expect(configMap(t, ns, "r-config").Data["message"]).To(Equal("5"))
			}},
		{name: "disableTakeOwnership",
			setup:   func(t *testing.T, ns string) { createConfigMap(t, ns, "r-extra") },
			options: func(hr *helmv2.HelmRelease) { hr.Spec.Upgrade = &helmv2.Upgrade{DisableTakeOwnership: true} },
			change:  func(hr *helmv2.HelmRelease) { hr.Spec.Values = jsonValues("extra: true\n") },
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _, _ string) {
				got := eventuallyCondition(t, hr, helmv2.ReleasedCondition, false, helmv2.UpgradeFailedReason, fieldsTimeout)
				NewWithT(t).Expect(conditions.GetMessage(got, helmv2.ReleasedCondition)).To(ContainSubstring("cannot be imported"))
			}},
		{name: "crds default Skip leaves the CRD",
			change: func(hr *helmv2.HelmRelease) {},
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, group, _ string) {
				publishOpts(t, ns, "2.0.0", ", shortNames: [wdg]")
				eventuallyChartVersion(t, hr, "2.0.0")
				NewWithT(t).Expect(crd(t, group).Spec.Names.ShortNames).To(BeEmpty())
			}},
		{name: "crds CreateReplace",
			options: func(hr *helmv2.HelmRelease) { hr.Spec.Upgrade = &helmv2.Upgrade{CRDs: helmv2.CreateReplace} },
			change:  func(hr *helmv2.HelmRelease) {},
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, group, _ string) {
				publishOpts(t, ns, "2.0.0", ", shortNames: [wdg]")
				eventuallyChartVersion(t, hr, "2.0.0")
				NewWithT(t).Expect(crd(t, group).Spec.Names.ShortNames).To(ConsistOf("wdg"))
			}},
		{name: "remediateLastFailure rolls back with hooks",
			// The failing upgrade runs no hooks, so only the rollback's
			// can replace the hook ConfigMap.
			options: func(hr *helmv2.HelmRelease) {
				hr.Spec.Upgrade = &helmv2.Upgrade{DisableHooks: true, Remediation: lastFailure}
			},
			change: failOnce,
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _, hookUID string) {
				got := eventuallyCondition(t, hr, meta.StalledCondition, true, release.ReasonRetriesExceeded, fieldsTimeout)
				g := NewWithT(t)
				g.Expect(conditions.GetReason(got, helmv2.RemediatedCondition)).To(Equal(helmv2.RollbackSucceededReason))
				hist := releaseHistory(t, hr)
				g.Expect(hist[len(hist)-1].Info.Status).To(Equal(releasecommon.StatusDeployed))
				g.Expect(hist[len(hist)-1].Info.Description).To(HavePrefix("Rollback to 1"))
				g.Expect(string(configMap(t, ns, "r-hook").UID)).NotTo(Equal(hookUID), "the pre-rollback hook ran")
			}},
		{name: "rollback disableHooks",
			options: func(hr *helmv2.HelmRelease) {
				hr.Spec.Upgrade = &helmv2.Upgrade{DisableHooks: true, Remediation: lastFailure}
				hr.Spec.Rollback = &helmv2.Rollback{DisableHooks: true}
			},
			change: failOnce,
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _, hookUID string) {
				got := eventuallyCondition(t, hr, meta.StalledCondition, true, release.ReasonRetriesExceeded, fieldsTimeout)
				g := NewWithT(t)
				g.Expect(conditions.GetReason(got, helmv2.RemediatedCondition)).To(Equal(helmv2.RollbackSucceededReason))
				g.Expect(string(configMap(t, ns, "r-hook").UID)).To(Equal(hookUID), "no pre-rollback hook ran")
			}},
		{name: "remediation strategy uninstall",
			options: func(hr *helmv2.HelmRelease) {
				hr.Spec.Upgrade = &helmv2.Upgrade{Remediation: &helmv2.UpgradeRemediation{Retries: 0,
					RemediateLastFailure: ptrTo(true), Strategy: ptrTo(helmv2.UninstallRemediationStrategy)}}
			},
			change: failOnce,
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _, _ string) {
				got := eventuallyCondition(t, hr, meta.StalledCondition, true, release.ReasonRetriesExceeded, fieldsTimeout)
				g := NewWithT(t)
				g.Expect(conditions.GetReason(got, helmv2.RemediatedCondition)).To(Equal(helmv2.UninstallSucceededReason))
				g.Expect(releaseHistory(t, hr)).To(BeEmpty())
			}},
		{name: "remediation ignoreTestFailures",
			options: func(hr *helmv2.HelmRelease) {
				hr.Spec.Upgrade = &helmv2.Upgrade{Remediation: &helmv2.UpgradeRemediation{IgnoreTestFailures: ptrTo(true)}}
			},
			// Tests start with the upgrade, so only one test Pod of that
			// name is ever created.
			change: func(hr *helmv2.HelmRelease) {
				hr.Spec.Test = &helmv2.Test{Enable: true}
				hr.Spec.Values = jsonValues("testExit: \"1\"\n")
			},
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _, _ string) {
				eventuallyCondition(t, hr, helmv2.TestSuccessCondition, false, helmv2.TestFailedReason, fieldsTimeout)
				got := eventuallyVersion(t, hr, 2)
				g := NewWithT(t)
				g.Expect(got.Status.UpgradeFailures).To(BeZero())
				g.Expect(conditions.Has(got, helmv2.RemediatedCondition)).To(BeFalse())
			}},
		{name: "strategy RetryOnFailure",
			options: func(hr *helmv2.HelmRelease) {
				hr.Spec.Upgrade = &helmv2.Upgrade{Strategy: &helmv2.UpgradeStrategy{
					Name: string(helmv2.ActionStrategyRetryOnFailure), RetryInterval: &metav1.Duration{Duration: time.Second}}}
			},
			change: failOnce,
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _, _ string) {
				// No rollback; the upgrade is retried every retryInterval
				// (the default is five minutes).
				g := NewWithT(t)
				g.Eventually(func(g Gomega) {
					got := getRelease(g, hr)
					g.Expect(got.Status.Failures).To(BeNumerically(">=", 2))
					g.Expect(conditions.Has(got, helmv2.RemediatedCondition)).To(BeFalse())
				}, 40*time.Second, 250*time.Millisecond).Should(Succeed())
				hist := releaseHistory(t, hr)
				g.Expect(hist[len(hist)-1].Info.Status).To(Equal(releasecommon.StatusFailed))
			}},
		{name: "maxHistory",
			options: func(hr *helmv2.HelmRelease) { hr.Spec.MaxHistory = ptrTo(2) },
			change:  func(hr *helmv2.HelmRelease) { hr.Spec.Values = jsonValues("message: two\n") },
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _, _ string) {
				eventuallyVersion(t, hr, 2)
				updateSpec(t, hr, func(hr *helmv2.HelmRelease) { hr.Spec.Values = jsonValues("message: three\n") })
				eventuallyVersion(t, hr, 3)
				hist := releaseHistory(t, hr)
				g := NewWithT(t)
				g.Expect(hist).To(HaveLen(2))
				g.Expect(hist[0].Version).To(Equal(2))
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			ns := env.NewNamespace(t)
			group := publishOpts(t, ns, "1.0.0", "")
			if tc.setup != nil {
				tc.setup(t, ns)
			}
			hr := newRelease(ns, "r", "opts", tc.values)
			if tc.options != nil {
				tc.options(hr)
			}
			g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
			eventuallyReady(t, hr, fieldsTimeout)
			hookUID := string(configMap(t, ns, "r-hook").UID)
			updateSpec(t, hr, tc.change)
			tc.check(t, hr, ns, group, hookUID)
		})
	}
}

// eventuallyVersion waits until the HelmRelease is Ready with release
// version v.
func eventuallyVersion(t *testing.T, hr *helmv2.HelmRelease, v int) *helmv2.HelmRelease {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		latest := getRelease(g, hr).Status.History.Latest()
		g.Expect(latest).NotTo(BeNil())
		g.Expect(latest.Version).To(Equal(v))
	}, fieldsTimeout, 250*time.Millisecond).Should(Succeed())
	return eventuallyReady(t, hr, fieldsTimeout)
}

// eventuallyChartVersion waits until the HelmRelease is Ready with the
// chart version deployed.
func eventuallyChartVersion(t *testing.T, hr *helmv2.HelmRelease, version string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		latest := getRelease(g, hr).Status.History.Latest()
		g.Expect(latest).NotTo(BeNil())
		g.Expect(latest.ChartVersion).To(Equal(version))
	}, fieldsTimeout, 250*time.Millisecond).Should(Succeed())
	eventuallyReady(t, hr, fieldsTimeout)
}
