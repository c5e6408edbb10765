package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "gotk.dev/pkg/apis/helm/v2"

	"gotk.dev/helm-controller/internal/action"
)

// appliedBy reports whether the helm-controller field manager owns fields
// of obj through server-side apply (an Apply entry) and through
// client-side writes (an Update entry).
func appliedBy(obj metav1.Object) (apply, update bool) {
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager != action.FieldManager {
			continue
		}
		switch mf.Operation {
		case metav1.ManagedFieldsOperationApply:
			apply = true
		case metav1.ManagedFieldsOperationUpdate:
			update = true
		}
	}
	return apply, update
}

// TestHelmReleaseServerSideApply: installs apply server-side unless
// install.serverSideApply is false, and upgrade.serverSideApply enabled
// moves a client-side release to server-side apply; the managedFields of
// the release's ConfigMap show which, as does the stored release.
func TestHelmReleaseServerSideApply(t *testing.T) {
	startController(t)
	cases := []struct {
		name    string
		install *helmv2.Install
		upgrade *helmv2.Upgrade
		// wantInstall and wantUpgrade: whether the ConfigMap is applied
		// server-side after the install and after the upgrade.
		wantInstall, wantUpgrade bool
	}{
		{name: "install default is server-side", wantInstall: true},
		{name: "install serverSideApply false", install: &helmv2.Install{ServerSideApply: ptrTo(false)}},
		{name: "upgrade serverSideApply enabled", install: &helmv2.Install{ServerSideApply: ptrTo(false)},
			upgrade: &helmv2.Upgrade{ServerSideApply: helmv2.ServerSideApplyEnabled}, wantUpgrade: true},
		{name: "control: upgrade auto keeps client-side", install: &helmv2.Install{ServerSideApply: ptrTo(false)},
			upgrade: &helmv2.Upgrade{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			ns := env.NewNamespace(t)
			publishChart(t, ns, "waits", waitsChart(t), "1.0.0")
			hr := newRelease(ns, "r", "waits", "")
			hr.Spec.Install = tc.install
			hr.Spec.Upgrade = tc.upgrade
			g.Expect(env.Client.Create(context.Background(), hr)).To(Succeed())
			eventuallyReady(t, hr, fieldsTimeout)
			apply, update := appliedBy(configMap(t, ns, "r-config"))
			g.Expect(apply).To(Equal(tc.wantInstall), "an Apply entry after the install")
			g.Expect(update).To(Equal(!tc.wantInstall), "an Update entry after the install")
			wantMethod := map[bool]string{true: "ssa", false: "csa"}
			g.Expect(releaseHistory(t, hr)[0].ApplyMethod).To(Equal(wantMethod[tc.wantInstall]))
			if tc.upgrade == nil {
				return
			}
			updateSpec(t, hr, func(hr *helmv2.HelmRelease) { hr.Spec.Values = jsonValues("message: second\n") })
			g.Eventually(func() int { return len(releaseHistory(t, hr)) }, fieldsTimeout, 250*time.Millisecond).Should(Equal(2))
			eventuallyReady(t, hr, fieldsTimeout)
			cm := configMap(t, ns, "r-config")
			g.Expect(cm.Data["message"]).To(Equal("second"))
			apply, _ = appliedBy(cm)
			g.Expect(apply).To(Equal(tc.wantUpgrade), "an Apply entry after the upgrade")
			g.Expect(releaseHistory(t, hr)[1].ApplyMethod).To(Equal(wantMethod[tc.wantUpgrade]))
		})
	}
}

// TestHelmReleasePostRenderStrategy: the post-renderers (here the owner
// labels every release object gets) reach the chart's hooks under
// combined (the default) and separate, and not under nohooks.
func TestHelmReleasePostRenderStrategy(t *testing.T) {
	startController(t)
	cases := []struct {
		strategy  helmv2.PostRenderStrategy
		wantHooks bool
	}{
		{strategy: "", wantHooks: true},
		{strategy: helmv2.PostRenderStrategyCombined, wantHooks: true},
		{strategy: helmv2.PostRenderStrategySeparate, wantHooks: true},
		{strategy: helmv2.PostRenderStrategyNoHooks, wantHooks: false},
	}
	for _, tc := range cases {
		t.Run("strategy "+string(tc.strategy), func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			ns := env.NewNamespace(t)
			publishOpts(t, ns, "1.0.0", "")
			hr := newRelease(ns, "r", "opts", "")
			hr.Spec.PostRenderStrategy = tc.strategy
			hr.Spec.CommonMetadata = &helmv2.CommonMetadata{Labels: map[string]string{"team": "a"}}
			g.Expect(env.Client.Create(context.Background(), hr)).To(Succeed())
			eventuallyReady(t, hr, fieldsTimeout)
			g.Expect(configMap(t, ns, "r-config").Labels).To(HaveKeyWithValue("team", "a"), "templates are always post-rendered")
			hook := configMap(t, ns, "r-hook")
			g.Expect(hook).NotTo(BeNil())
			if tc.wantHooks {
				g.Expect(hook.Labels).To(HaveKeyWithValue("team", "a"))
				g.Expect(hook.Labels).To(HaveKeyWithValue(helmv2.NameLabel, "r"))
			} else {
				g.Expect(hook.Labels).NotTo(HaveKey("team"))
				g.Expect(hook.Labels).NotTo(HaveKey(helmv2.NameLabel))
			}
		})
	}
}

// TestHelmReleaseWaitStrategy: the poller (the default) waits until
// kstatus computes every object Current, so a custom resource whose
// status says it is still reconciling fails the install at the timeout;
// legacy (Helm 3's readiness checks) does not look at custom resources.
func TestHelmReleaseWaitStrategy(t *testing.T) {
	startController(t)
	cases := []struct {
		name      string
		strategy  *helmv2.WaitStrategy
		wantReady bool
	}{
		{name: "default poller", wantReady: false},
		{name: "poller", strategy: &helmv2.WaitStrategy{Name: helmv2.WaitStrategyPoller}, wantReady: false},
		{name: "legacy", strategy: &helmv2.WaitStrategy{Name: helmv2.WaitStrategyLegacy}, wantReady: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			ns := env.NewNamespace(t)
			publishWidgets(t, ns, "reconciling")
			hr := newRelease(ns, "r", "widgets", "")
			hr.Spec.WaitStrategy = tc.strategy
			hr.Spec.Install = &helmv2.Install{Timeout: &metav1.Duration{Duration: 3 * time.Second}}
			g.Expect(env.Client.Create(context.Background(), hr)).To(Succeed())
			if tc.wantReady {
				eventuallyReady(t, hr, fieldsTimeout)
				return
			}
			got := eventuallyCondition(t, hr, helmv2.ReleasedCondition, false, helmv2.InstallFailedReason, fieldsTimeout)
			g.Expect(conditions.GetMessage(got, helmv2.ReleasedCondition)).To(ContainSubstring("Widget " + ns + "/r"))
		})
	}
}

// widgetsChart is a chart with a CRD of group and one Widget whose
// status (kept: the CRD has no status subresource) carries phase and,
// when phase is "reconciling", a Reconciling condition kstatus reads as
// in progress.
func widgetsChart(t testing.TB, group, phase string) []byte {
	return packageChart(t, "widgets", "1.0.0", map[string]string{
		"crds/widgets.yaml": `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.` + group + `
spec:
  group: ` + group + `
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`,
		"templates/widget.yaml": `apiVersion: ` + group + `/v1
kind: Widget
metadata:
  name: {{ .Release.Name }}
status:
  phase: ` + phase + `
{{- if eq "` + phase + `" "reconciling" }}
  conditions:
  - type: Reconciling
    status: "True"
    reason: Progressing
    message: still reconciling
{{- end }}
`,
	})
}

// publishWidgets publishes widgetsChart as the HelmChart "widgets" in ns
// and returns its CRD's group, deleted when the test ends.
func publishWidgets(t *testing.T, ns, phase string) string {
	t.Helper()
	group := ns + ".widgets.gotk.test"
	publishChart(t, ns, "widgets", widgetsChart(t, group, phase), "1.0.0")
	t.Cleanup(func() {
		_ = env.Client.Delete(context.Background(), &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metaOf("", "widgets."+group)})
	})
	return group
}

// TestHelmReleaseHealthCheckExprs: a CEL health expression decides the
// health of its kind in the poller's wait, so a Widget whose phase is not
// the one the expression asks for keeps the release from becoming Ready
// (the install fails at its timeout), where kstatus alone finds it
// Current; an expression that does not compile fails the install naming
// it.
func TestHelmReleaseHealthCheckExprs(t *testing.T) {
	startController(t)
	cases := []struct {
		name, phase, current string
		wantReady            bool
		wantMessage          string
	}{
		{name: "expression not true", phase: "Pending", current: "status.phase == 'Ready'", wantMessage: `current expression "status.phase == 'Ready'" is not true yet`},
		{name: "expression true", phase: "Ready", current: "status.phase == 'Ready'", wantReady: true},
		{name: "control: kstatus alone", phase: "Pending", wantReady: true},
		{name: "expression does not compile", phase: "Ready", current: "status.phase ==", wantMessage: "does not compile"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			ns := env.NewNamespace(t)
			group := publishWidgets(t, ns, tc.phase)
			hr := newRelease(ns, "r", "widgets", "")
			hr.Spec.Install = &helmv2.Install{Timeout: &metav1.Duration{Duration: 3 * time.Second}}
			if tc.current != "" {
				hr.Spec.HealthCheckExprs = []kustomize.CustomHealthCheck{{APIVersion: group + "/v1", Kind: "Widget",
					HealthCheckExpressions: kustomize.HealthCheckExpressions{Current: tc.current}}}
			}
			g.Expect(env.Client.Create(context.Background(), hr)).To(Succeed())
			if tc.wantReady {
				eventuallyReady(t, hr, fieldsTimeout)
				return
			}
			got := eventuallyCondition(t, hr, helmv2.ReleasedCondition, false, helmv2.InstallFailedReason, fieldsTimeout)
			g.Expect(conditions.GetMessage(got, helmv2.ReleasedCondition)).To(ContainSubstring(tc.wantMessage))
			g.Expect(conditions.IsReady(got)).To(BeFalse())
		})
	}
}

// TestHelmReleaseRollbackRecreate: with rollback.recreate the pods of the
// release's Deployment are deleted after the rollback and made anew; the
// control keeps them.
func TestHelmReleaseRollbackRecreate(t *testing.T) {
	startController(t)
	for _, recreate := range []bool{true, false} {
		t.Run(map[bool]string{true: "recreate", false: "control: pods kept"}[recreate], func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			ctx := context.Background()
			ns := env.NewNamespace(t)
			publishChart(t, ns, "app", appChart(t, "1.0.0"), "1.0.0")
			hr := newRelease(ns, "r", "app", "")
			hr.Spec.Upgrade = &helmv2.Upgrade{Remediation: &helmv2.UpgradeRemediation{Retries: 0, RemediateLastFailure: ptrTo(true)}}
			hr.Spec.Rollback = &helmv2.Rollback{Recreate: recreate}
			g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
			eventuallyReady(t, hr, fieldsTimeout)
			pods := func(g Gomega) map[types.UID]bool {
				var list corev1.PodList
				g.Expect(env.Client.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{"app": "r"})).To(Succeed())
				out := map[types.UID]bool{}
				for _, p := range list.Items {
					if p.DeletionTimestamp == nil {
						out[p.UID] = true
					}
				}
				return out
			}
			var before map[types.UID]bool
			g.Eventually(func(g Gomega) {
				before = pods(g)
				g.Expect(before).NotTo(BeEmpty())
			}, fieldsTimeout, 250*time.Millisecond).Should(Succeed())

			// The API server rejects the upgrade; it is rolled back.
			updateSpec(t, hr, func(hr *helmv2.HelmRelease) { hr.Spec.Values = jsonValues("fail: true\n") })
			eventuallyCondition(t, hr, helmv2.RemediatedCondition, true, helmv2.RollbackSucceededReason, fieldsTimeout)
			g.Eventually(func(g Gomega) {
				now := pods(g)
				g.Expect(now).NotTo(BeEmpty())
				for uid := range before {
					g.Expect(now[uid]).To(Equal(!recreate), "pod %s after the rollback", uid)
				}
			}, fieldsTimeout, 250*time.Millisecond).Should(Succeed())
		})
	}
}
