package controller

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// rollbackRemediation is an upgrade remediated by one rollback of its
// first failure.
var rollbackRemediation = &helmv2.Upgrade{Remediation: &helmv2.UpgradeRemediation{Retries: 0, RemediateLastFailure: ptrTo(true)}}

// TestHelmReleaseRollbackServerSideApply: rollback.serverSideApply
// enabled applies the release rolled back to server-side even when it was
// installed client-side, disabled applies it client-side even when it was
// installed server-side, and auto (the control) follows the release
// rolled back to; the managedFields of the release's ConfigMap and the
// stored rollback release show which.
func TestHelmReleaseRollbackServerSideApply(t *testing.T) {
	startController(t)
	cases := []struct {
		name     string
		install  *helmv2.Install
		rollback helmv2.ServerSideApplyMode
		// wantSSA: whether the rollback applies server-side.
		wantSSA bool
	}{
		{name: "enabled after a client-side install", install: &helmv2.Install{ServerSideApply: ptrTo(false)},
			rollback: helmv2.ServerSideApplyEnabled, wantSSA: true},
		{name: "disabled after a server-side install", rollback: helmv2.ServerSideApplyDisabled},
		{name: "control: auto follows a client-side install", install: &helmv2.Install{ServerSideApply: ptrTo(false)}},
		{name: "control: auto follows a server-side install", wantSSA: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			ns := env.NewNamespace(t)
			publishChart(t, ns, "app", appChart(t, "1.0.0"), "1.0.0")
			hr := newRelease(ns, "r", "app", "")
			hr.Spec.Install = tc.install
			hr.Spec.Upgrade = rollbackRemediation
			hr.Spec.Rollback = &helmv2.Rollback{ServerSideApply: tc.rollback}
			g.Expect(env.Client.Create(context.Background(), hr)).To(Succeed())
			eventuallyReady(t, hr, fieldsTimeout)
			installedSSA := tc.install == nil
			apply, update := appliedBy(configMap(t, ns, "r-config"))
			g.Expect([]bool{apply, update}).To(Equal([]bool{installedSSA, !installedSSA}), "Apply and Update entries after the install")

			// The upgrade changes the ConfigMap, then the API server
			// rejects another object; the rollback puts the ConfigMap back.
			updateSpec(t, hr, func(hr *helmv2.HelmRelease) { hr.Spec.Values = jsonValues("message: second\nfail: true\n") })
			eventuallyCondition(t, hr, helmv2.RemediatedCondition, true, helmv2.RollbackSucceededReason, fieldsTimeout)
			history := releaseHistory(t, hr)
			g.Expect(history).To(HaveLen(3))
			wantMethod := map[bool]string{true: "ssa", false: "csa"}
			g.Expect(history[2].ApplyMethod).To(Equal(wantMethod[tc.wantSSA]), "apply method of the rollback release")
			cm := configMap(t, ns, "r-config")
			g.Expect(cm.Data["message"]).To(Equal("hello"))
			apply, update = appliedBy(cm)
			if tc.wantSSA {
				g.Expect(apply).To(BeTrue(), "an Apply entry after the rollback")
			} else {
				g.Expect(update).To(BeTrue(), "an Update entry after the rollback")
			}
			if tc.wantSSA && !installedSSA {
				// Helm moves the fields written client-side to the Apply
				// entry. The other way, a client-side write takes only the
				// fields it changes from the Apply entry.
				g.Expect(update).To(BeFalse(), "an Update entry after the rollback")
			}
		})
	}
}

// immutableChart is a chart whose upgrade to immutable: true, extra:
// false and failHook: true applies (deleting the ConfigMap r-extra and
// making r-imm immutable), then fails at its post-upgrade hook (a name
// the API server rejects); rolling back to the release before it creates
// r-extra again and fails at r-imm, whose data cannot change any more.
func immutableChart(t testing.TB) []byte {
	return packageChart(t, "imm", "1.0.0", map[string]string{
		"values.yaml": "message: one\nimmutable: false\nextra: true\nfailHook: false\n",
		"templates/configmaps.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-imm
data:
  message: {{ .Values.message | quote }}
{{- if .Values.immutable }}
immutable: true
{{- end }}
{{- if .Values.extra }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-extra
data: {}
{{- end }}
`,
		"templates/hook.yaml": `{{- if .Values.failHook }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: Invalid_Hook_{{ .Release.Name }}
  annotations:
    helm.sh/hook: post-upgrade
{{- end }}
`,
	})
}

// TestHelmReleaseRollbackCleanupOnFail: a rollback that fails deletes the
// objects it created when rollback.cleanupOnFail is set, and keeps them
// when it is not.
func TestHelmReleaseRollbackCleanupOnFail(t *testing.T) {
	startController(t)
	for _, cleanup := range []bool{true, false} {
		t.Run(map[bool]string{true: "cleanupOnFail", false: "control: created objects kept"}[cleanup], func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			ns := env.NewNamespace(t)
			publishChart(t, ns, "imm", immutableChart(t), "1.0.0")
			hr := newRelease(ns, "r", "imm", "")
			hr.Spec.Upgrade = rollbackRemediation
			hr.Spec.Rollback = &helmv2.Rollback{CleanupOnFail: cleanup}
			g.Expect(env.Client.Create(context.Background(), hr)).To(Succeed())
			eventuallyReady(t, hr, fieldsTimeout)
			g.Expect(configMap(t, ns, "r-extra")).NotTo(BeNil())

			updateSpec(t, hr, func(hr *helmv2.HelmRelease) {
				hr.Spec.Values = jsonValues("message: two\nimmutable: true\nextra: false\nfailHook: true\n")
			})
			got := eventuallyCondition(t, hr, helmv2.RemediatedCondition, true, helmv2.RollbackFailedReason, fieldsTimeout)
			g.Expect(got.Status.History.Latest().Status).To(Equal("failed"))
			imm := configMap(t, ns, "r-imm")
			g.Expect(imm.Data["message"]).To(Equal("two"), "the rollback could not change the immutable ConfigMap")
			g.Expect(imm.Immutable).To(HaveValue(BeTrue()))
			// The rollback created r-extra (the upgrade had deleted it).
			if cleanup {
				g.Eventually(func() bool { return configMap(t, ns, "r-extra") == nil }, fieldsTimeout, 250*time.Millisecond).
					Should(BeTrue(), "r-extra deleted after the failed rollback")
			} else {
				g.Consistently(func() bool { return configMap(t, ns, "r-extra") != nil }, 2*time.Second, 250*time.Millisecond).
					Should(BeTrue(), "r-extra kept after the failed rollback")
			}
		})
	}
}
