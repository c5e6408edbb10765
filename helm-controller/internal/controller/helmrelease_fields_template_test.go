package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
)

// TestHelmReleaseChartTemplateFields: the spec.chart fields source-controller
// acts on reach the HelmChart the release creates, and
// commonMetadata.annotations reach the release's objects.
func TestHelmReleaseChartTemplateFields(t *testing.T) {
	startController(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	hr := &helmv2.HelmRelease{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tpl"},
		Spec: helmv2.HelmReleaseSpec{
			Interval: metav1.Duration{Duration: time.Hour},
			Chart: &helmv2.HelmChartTemplate{
				ObjectMeta: &helmv2.HelmChartTemplateObjectMeta{Annotations: map[string]string{"owner": "team-a"}},
				Spec: helmv2.HelmChartTemplateSpec{
					Chart: "opts", SourceRef: helmv2.CrossNamespaceObjectReference{Kind: sourcev1.HelmRepositoryKind, Name: "repo"},
					ReconcileStrategy:        sourcev1.ReconcileStrategyRevision,
					ValuesFiles:              []string{"values.yaml", "values-prod.yaml"},
					IgnoreMissingValuesFiles: true,
					Verify: &helmv2.HelmChartTemplateVerification{Provider: "cosign",
						SecretRef: &meta.LocalObjectReference{Name: "cosign-keys"}},
				},
			},
			CommonMetadata: &helmv2.CommonMetadata{Annotations: map[string]string{"team": "a"}},
		},
	}
	g.Expect(env.Client.Create(ctx, hr)).To(Succeed())

	hcName := ns + "-tpl"
	var hc sourcev1.HelmChart
	g.Eventually(func() error {
		return env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: hcName}, &hc)
	}, fieldsTimeout, 200*time.Millisecond).Should(Succeed())
	g.Expect(hc.Annotations).To(HaveKeyWithValue("owner", "team-a"))
	g.Expect(hc.Spec.ReconcileStrategy).To(Equal(sourcev1.ReconcileStrategyRevision))
	g.Expect(hc.Spec.ValuesFiles).To(Equal([]string{"values.yaml", "values-prod.yaml"}))
	g.Expect(hc.Spec.IgnoreMissingValuesFiles).To(BeTrue())
	g.Expect(hc.Spec.Verify).To(Equal(&sourcev1.OCIVerification{Provider: "cosign",
		SecretRef: &meta.LocalObjectReference{Name: "cosign-keys"}}))

	// Played by the test: source-controller publishes the chart.
	publishOpts(t, ns, "1.0.0", "")
	publishChart(t, ns, hcName, optsChart(t, "1.0.0", ns+".gotk.test", ""), "1.0.0")
	eventuallyReady(t, hr, fieldsTimeout)
	g.Expect(configMap(t, ns, "tpl-config").Annotations).To(HaveKeyWithValue("team", "a"))
}
