package controller

import (
	"context"
	"testing"

	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// reviewChart is a chart whose switches add a SelfSubjectAccessReview
// and a ConfigMap, each with a field its schema lacks. Helm's OpenAPI
// validation (kubectl's, on the client) leaves every kind whose PATCH
// endpoint takes the fieldValidation parameter to the API server, which
// is every kind Helm can manage, and checks the others: the review, a
// kind the API server only creates, is one.
func reviewChart(t testing.TB) []byte {
	return packageChart(t, "review", "1.0.0", map[string]string{
		"values.yaml": "review: false\nconfigMap: false\n",
		"templates/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
data: {}
{{- if .Values.configMap }}
unknownField: dropped
{{- end }}
`,
		"templates/review.yaml": `{{- if .Values.review }}
apiVersion: authorization.k8s.io/v1
kind: SelfSubjectAccessReview
metadata:
  name: {{ .Release.Name }}-review
spec:
  nonResourceAttributes: {path: /healthz, verb: get}
  unknownField: dropped
{{- end }}
`,
	})
}

// TestHelmReleaseDisableOpenAPIValidation: Helm validates objects against
// the OpenAPI schema on the client only for kinds the API server cannot
// validate itself, so a SelfSubjectAccessReview with a field its schema
// lacks fails the install or upgrade at that validation, naming the
// field, and with disableOpenAPIValidation it reaches the API server
// (which refuses it too: a review takes no metadata, and Helm always
// labels and annotates the objects it creates). The
// control: a ConfigMap with a field its schema lacks is left to the API
// server (which drops the field under client-side apply) with the
// validation on.
func TestHelmReleaseDisableOpenAPIValidation(t *testing.T) {
	startController(t)
	const validation = `ValidationError(SelfSubjectAccessReview.spec): unknown field "unknownField"`
	const apiServer = `.authorization.k8s.io "" is invalid: metadata`
	cases := []struct {
		name    string
		values  string
		upgrade bool // the values come with an upgrade, not the install
		disable bool
		// wantMessage is the failure, empty when the release is Ready.
		wantMessage string
	}{
		{name: "install validated", values: "review: true\n", wantMessage: validation},
		{name: "install disableOpenAPIValidation", values: "review: true\n", disable: true, wantMessage: apiServer},
		{name: "upgrade validated", values: "review: true\n", upgrade: true, wantMessage: validation},
		{name: "upgrade disableOpenAPIValidation", values: "review: true\n", upgrade: true, disable: true, wantMessage: apiServer},
		{name: "control: the API server validates a ConfigMap", values: "configMap: true\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			ns := env.NewNamespace(t)
			publishChart(t, ns, "review", reviewChart(t), "1.0.0")
			hr := newRelease(ns, "r", "review", tc.values)
			if tc.upgrade {
				hr.Spec.Values = nil
			}
			hr.Spec.Install = &helmv2.Install{ServerSideApply: ptrTo(false), DisableOpenAPIValidation: tc.disable && !tc.upgrade}
			hr.Spec.Upgrade = &helmv2.Upgrade{DisableOpenAPIValidation: tc.disable && tc.upgrade}
			g.Expect(env.Client.Create(context.Background(), hr)).To(Succeed())
			reason := helmv2.InstallFailedReason
			if tc.upgrade {
				eventuallyReady(t, hr, fieldsTimeout)
				updateSpec(t, hr, func(hr *helmv2.HelmRelease) { hr.Spec.Values = jsonValues(tc.values) })
				reason = helmv2.UpgradeFailedReason
			}
			if tc.wantMessage == "" {
				eventuallyReady(t, hr, fieldsTimeout)
				g.Expect(configMap(t, ns, "r-config")).NotTo(BeNil())
				return
			}
			got := eventuallyCondition(t, hr, helmv2.ReleasedCondition, false, reason, fieldsTimeout)
			msg := conditions.GetMessage(got, helmv2.ReleasedCondition)
			g.Expect(msg).To(ContainSubstring(tc.wantMessage))
			if tc.disable {
				g.Expect(msg).NotTo(ContainSubstring("ValidationError"))
			}
		})
	}
}
