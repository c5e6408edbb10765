package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testserver"
	"gotk.dev/source-controller/internal/notation/notationtest"
)

// HelmChart spec.verify with notation, from an OCI HelmRepository behind
// credentials: the chart's manifest is verified (with the HelmRepository's
// credentials) before the chart is pulled; an unsigned chart or one
// signed by an untrusted CA is a VerificationError with nothing stored.
func TestHelmChartNotationVerification(t *testing.T) {
	g := NewWithT(t)
	startOCIHarness(t)
	ctx := context.Background()
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{Auth: testserver.BasicAuth{Username: "u", Password: "p"}})
	basic := &authn.Basic{Username: "u", Password: "p"}
	ns := env.NewNamespace(t)
	repo, err := name.NewRepository(reg.Host()+"/charts/app", name.Insecure)
	g.Expect(err).NotTo(HaveOccurred())
	digests := map[string]string{}
	for _, v := range []string{"1.0.0", "2.0.0", "3.0.0"} {
		digests[v] = pushOCIChart(g, t, repo, "app", v, basic)
	}
	trusted, err := notationtest.NewSigner("charts CA")
	g.Expect(err).NotTo(HaveOccurred())
	untrusted, err := notationtest.NewSigner("other CA")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(trusted.Sign(ctx, repo.Name(), digests["1.0.0"], basic)).To(Succeed())
	g.Expect(untrusted.Sign(ctx, repo.Name(), digests["3.0.0"], basic)).To(Succeed())

	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "registry", Namespace: ns}, Data: map[string][]byte{"username": []byte("u"), "password": []byte("p")}},
		{ObjectMeta: metav1.ObjectMeta{Name: "notation", Namespace: ns}, Data: map[string][]byte{
			"trustpolicy.json": notationtest.TrustPolicy("charts", reg.Host()+"/charts/app"), "ca.crt": trusted.CAPEM()}},
	} {
		g.Expect(env.Client.Create(ctx, s)).To(Succeed())
	}
	g.Expect(env.Client.Create(ctx, &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Name: "charts", Namespace: ns},
		Spec: sourcev1.HelmRepositorySpec{URL: "oci://" + reg.Host() + "/charts", Type: "oci", Insecure: true,
			SecretRef: &meta.LocalObjectReference{Name: "registry"}, Interval: metav1.Duration{Duration: time.Hour}}})).To(Succeed())

	for objName, tc := range map[string]struct {
		version string
		message string // SourceVerified's message: exact when verified, else a substring
	}{
		"signed": {"1.0.0", "verified signature of revision '1.0.0' with certificate 'CN=charts CA signer,O=gotk test' under trust policy 'charts'"},
		"unsigned": {"2.0.0", "signature verification of '2.0.0' failed: no notation signature found for '" + digests["2.0.0"] +
			"': no signature manifest in " + repo.Name() + " refers to it"},
		"untrusted": {"3.0.0", "signature verification of '3.0.0' failed with the trust policy of secret 'notation': trust policy 'charts': "},
	} {
		t.Run(objName, func(t *testing.T) {
			g := NewWithT(t)
			hc := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Name: objName, Namespace: ns},
				Spec: sourcev1.HelmChartSpec{Chart: "app", Version: tc.version, Interval: metav1.Duration{Duration: time.Hour},
					SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.HelmRepositoryKind, Name: "charts"},
					Verify:    &sourcev1.OCIVerification{Provider: sourcev1.NotationVerificationProvider, SecretRef: &meta.LocalObjectReference{Name: "notation"}}}}
			g.Expect(env.Client.Create(ctx, hc)).To(Succeed())
			if objName == "signed" {
				waitSourceReady(g, hc, func(g Gomega) { g.Expect(hc.Status.Artifact).NotTo(BeNil()) })
				g.Expect(hc.Status.Artifact.Revision).To(Equal(tc.version))
				g.Expect(conditions.GetMessage(hc, sourcev1.SourceVerifiedCondition)).To(Equal(tc.message))
				return
			}
			g.Eventually(func(g Gomega) {
				g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(hc), hc)).To(Succeed())
				g.Expect(conditions.IsFalse(hc, sourcev1.SourceVerifiedCondition)).To(BeTrue())
				g.Expect(conditions.GetReason(hc, meta.ReadyCondition)).To(Equal(sourcev1.VerificationError))
				g.Expect(conditions.GetMessage(hc, sourcev1.SourceVerifiedCondition)).To(ContainSubstring(tc.message))
			}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
			g.Expect(hc.Status.Artifact).To(BeNil())
		})
	}
}
