package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	releasecommon "helm.sh/helm/v4/pkg/release/common"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "gotk.dev/pkg/apis/helm/v2"

	"gotk.dev/helm-controller/internal/release"
)

// TestHelmReleaseInstallOptions: each case installs the opts chart with
// one spec.install option (or a field the install honours) set and checks
// what the option changes on the cluster or in the release.
func TestHelmReleaseInstallOptions(t *testing.T) {
	startController(t)
	ctx := context.Background()
	short := &metav1.Duration{Duration: 3 * time.Second}
	cases := []struct {
		name   string
		values string
		setup  func(t *testing.T, ns string)
		mutate func(hr *helmv2.HelmRelease, ns string)
		check  func(t *testing.T, hr *helmv2.HelmRelease, ns, group string)
	}{
		{name: "defaults run hooks and create CRDs",
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, group string) {
				eventuallyReady(t, hr, fieldsTimeout)
				g := NewWithT(t)
				g.Expect(configMap(t, ns, "r-hook")).NotTo(BeNil(), "the pre-install hook ran")
				g.Expect(crd(t, group)).NotTo(BeNil(), "the chart's CRD is created")
			}},
		{name: "disableHooks",
			mutate: func(hr *helmv2.HelmRelease, _ string) { hr.Spec.Install = &helmv2.Install{DisableHooks: true} },
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _ string) {
				eventuallyReady(t, hr, fieldsTimeout)
				NewWithT(t).Expect(configMap(t, ns, "r-hook")).To(BeNil(), "no hook runs")
			}},
		{name: "crds Skip",
			mutate: func(hr *helmv2.HelmRelease, _ string) { hr.Spec.Install = &helmv2.Install{CRDs: helmv2.Skip} },
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, group string) {
				eventuallyReady(t, hr, fieldsTimeout)
				NewWithT(t).Expect(crd(t, group)).To(BeNil())
			}},
		{name: "skipCRDs",
			mutate: func(hr *helmv2.HelmRelease, _ string) { hr.Spec.Install = &helmv2.Install{SkipCRDs: true} },
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, group string) {
				eventuallyReady(t, hr, fieldsTimeout)
				NewWithT(t).Expect(crd(t, group)).To(BeNil())
			}},
		{name: "createNamespace",
			mutate: func(hr *helmv2.HelmRelease, ns string) {
				hr.Spec.TargetNamespace = ns + "-new"
				hr.Spec.Install = &helmv2.Install{CreateNamespace: true}
			},
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _ string) {
				t.Cleanup(func() {
					_ = env.Client.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metaOf("", ns+"-new")})
				})
				eventuallyReady(t, hr, fieldsTimeout)
				// The release name defaults to <targetNamespace>-<name>.
				NewWithT(t).Expect(configMap(t, ns+"-new", ns+"-new-r-config")).NotTo(BeNil())
			}},
		{name: "without createNamespace a missing namespace fails",
			mutate: func(hr *helmv2.HelmRelease, ns string) { hr.Spec.TargetNamespace = ns + "-absent" },
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _ string) {
				got := eventuallyCondition(t, hr, helmv2.ReleasedCondition, false, helmv2.InstallFailedReason, fieldsTimeout)
				NewWithT(t).Expect(conditions.GetMessage(got, helmv2.ReleasedCondition)).To(ContainSubstring("not found"))
			}},
		{name: "disableWait", values: "pvc: true\n",
			mutate: func(hr *helmv2.HelmRelease, _ string) { hr.Spec.Install = &helmv2.Install{DisableWait: true} },
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _ string) {
				eventuallyReady(t, hr, fieldsTimeout)
			}},
		{name: "install timeout", values: "pvc: true\n",
			mutate: func(hr *helmv2.HelmRelease, _ string) { hr.Spec.Install = &helmv2.Install{Timeout: short} },
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _ string) {
				// spec.timeout is a minute: failing well within it shows
				// install.timeout is the one used.
				got := eventuallyCondition(t, hr, helmv2.ReleasedCondition, false, helmv2.InstallFailedReason, 40*time.Second)
				NewWithT(t).Expect(conditions.GetMessage(got, helmv2.ReleasedCondition)).To(ContainSubstring("PersistentVolumeClaim"))
			}},
		{name: "spec timeout", values: "pvc: true\n",
			mutate: func(hr *helmv2.HelmRelease, _ string) { hr.Spec.Timeout = short },
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _ string) {
				eventuallyCondition(t, hr, helmv2.ReleasedCondition, false, helmv2.InstallFailedReason, 40*time.Second)
			}},
		{name: "schema validation fails", values: "message: 5\n",
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _ string) {
				got := eventuallyCondition(t, hr, helmv2.ReleasedCondition, false, helmv2.InstallFailedReason, fieldsTimeout)
				NewWithT(t).Expect(conditions.GetMessage(got, helmv2.ReleasedCondition)).To(ContainSubstring("schema"))
			}},
		{name: "disableSchemaValidation", values: "message: 5\n",
			mutate: func(hr *helmv2.HelmRelease, _ string) {
				hr.Spec.Install = &helmv2.Install{DisableSchemaValidation: true}
			},
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _ string) {
				eventuallyReady(t, hr, fieldsTimeout)
				NewWithT(t).Expect(configMap(t, ns, "r-config").Data["message"]).To(Equal("5"))
			}},
		{name: "takes ownership of existing objects by default",
			setup: func(t *testing.T, ns string) { createConfigMap(t, ns, "r-config") },
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _ string) {
				eventuallyReady(t, hr, fieldsTimeout)
				NewWithT(t).Expect(configMap(t, ns, "r-config").Annotations).To(HaveKeyWithValue("meta.helm.sh/release-name", "r"))
			}},
		{name: "disableTakeOwnership",
			setup:  func(t *testing.T, ns string) { createConfigMap(t, ns, "r-config") },
			mutate: func(hr *helmv2.HelmRelease, _ string) { hr.Spec.Install = &helmv2.Install{DisableTakeOwnership: true} },
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _ string) {
				got := eventuallyCondition(t, hr, helmv2.ReleasedCondition, false, helmv2.InstallFailedReason, fieldsTimeout)
				NewWithT(t).Expect(conditions.GetMessage(got, helmv2.ReleasedCondition)).To(ContainSubstring("cannot be imported"))
			}},
		{name: "postRenderers kustomize images", values: "deployment: true\n",
			mutate: func(hr *helmv2.HelmRelease, _ string) {
				hr.Spec.PostRenderers = []helmv2.PostRenderer{{Kustomize: &helmv2.Kustomize{
					Images: []kustomize.Image{{Name: "example.com/app", NewName: "registry.example.com/app", NewTag: "2"}}}}}
			},
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _ string) {
				eventuallyReady(t, hr, fieldsTimeout)
				g := NewWithT(t)
				var d appsv1.Deployment
				g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "r"}, &d)).To(Succeed())
				g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal("registry.example.com/app:2"))
			}},
		{name: "remediateLastFailure", values: "badName: true\n",
			mutate: func(hr *helmv2.HelmRelease, _ string) {
				hr.Spec.Install = &helmv2.Install{Remediation: &helmv2.InstallRemediation{Retries: 0, RemediateLastFailure: ptrTo(true)}}
			},
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _ string) {
				got := eventuallyCondition(t, hr, meta.StalledCondition, true, release.ReasonRetriesExceeded, fieldsTimeout)
				g := NewWithT(t)
				g.Expect(conditions.GetReason(got, helmv2.RemediatedCondition)).To(Equal(helmv2.UninstallSucceededReason))
				g.Expect(releaseHistory(t, hr)).To(BeEmpty(), "the last failure is uninstalled too")
			}},
		{name: "remediation ignoreTestFailures", values: "testExit: \"1\"\n",
			mutate: func(hr *helmv2.HelmRelease, _ string) {
				hr.Spec.Test = &helmv2.Test{Enable: true}
				hr.Spec.Install = &helmv2.Install{Remediation: &helmv2.InstallRemediation{IgnoreTestFailures: ptrTo(true)}}
			},
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _ string) {
				got := eventuallyCondition(t, hr, helmv2.TestSuccessCondition, false, helmv2.TestFailedReason, fieldsTimeout)
				got = eventuallyReady(t, hr, fieldsTimeout)
				g := NewWithT(t)
				g.Expect(got.Status.InstallFailures).To(BeZero())
				g.Expect(conditions.Has(got, helmv2.RemediatedCondition)).To(BeFalse())
			}},
		{name: "strategy RetryOnFailure", values: "badName: true\n",
			mutate: func(hr *helmv2.HelmRelease, _ string) {
				hr.Spec.Install = &helmv2.Install{Strategy: &helmv2.InstallStrategy{
					Name: string(helmv2.ActionStrategyRetryOnFailure), RetryInterval: &metav1.Duration{Duration: time.Second}}}
			},
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns, _ string) {
				// The failed release is kept (no remediation) and, after
				// retryInterval, retried (as Flux does, by an upgrade of
				// the failed release).
				g := NewWithT(t)
				g.Eventually(func(g Gomega) {
					got := getRelease(g, hr)
					g.Expect(got.Status.Failures).To(BeNumerically(">=", 2))
					g.Expect(conditions.Has(got, helmv2.RemediatedCondition)).To(BeFalse())
				}, 40*time.Second, 250*time.Millisecond).Should(Succeed())
				hist := releaseHistory(t, hr)
				g.Expect(len(hist)).To(BeNumerically(">=", 2), "the failed install is not uninstalled")
				g.Expect(hist[0].Info.Status).To(Equal(releasecommon.StatusFailed))
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := env.NewNamespace(t)
			group := publishOpts(t, ns, "1.0.0", "")
			if tc.setup != nil {
				tc.setup(t, ns)
			}
			hr := newRelease(ns, "r", "opts", tc.values)
			if tc.mutate != nil {
				tc.mutate(hr, ns)
			}
			NewWithT(t).Expect(env.Client.Create(ctx, hr)).To(Succeed())
			tc.check(t, hr, ns, group)
		})
	}
}

// createConfigMap creates an empty ConfigMap no release owns.
func createConfigMap(t *testing.T, ns, name string) {
	t.Helper()
	NewWithT(t).Expect(env.Client.Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metaOf(ns, name)})).To(Succeed())
}

func ptrTo[T any](v T) *T { return &v }
