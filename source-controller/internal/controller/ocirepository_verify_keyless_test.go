package controller

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/google/go-containerregistry/pkg/name"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testserver"
	"gotk.dev/source-controller/internal/cosign"
	"gotk.dev/source-controller/internal/cosign/cosigntest"
)

const (
	keylessIssuer  = "https://token.actions.example"
	keylessSubject = "ci@example.com"
)

// keylessSign pushes, as the signature of digest, a keyless signature of
// signedDigest's payload (tampered: with a payload changed after signing).
func keylessSign(g Gomega, ss *cosigntest.Sigstore, repo name.Repository, digest, subject string, o cosigntest.SignOptions, tampered bool) {
	l, err := ss.Sign(cosigntest.Payload(repo, digest), subject, keylessIssuer, o)
	g.Expect(err).NotTo(HaveOccurred())
	if tampered {
		l.Payload = []byte(strings.Replace(string(l.Payload), `"optional":null`, `"optional":{"by":"someone else"}`, 1))
	}
	g.Expect(cosigntest.Push(repo, digest, []cosigntest.Layer{l})).To(Succeed())
}

// expectVerificationError waits for obj to be refused: SourceVerified and
// Ready False with reason, a message containing each of parts, and no
// artifact.
func expectVerificationError(g Gomega, obj *sourcev1.OCIRepository, reason string, parts ...string) {
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)).To(Succeed())
		c := conditions.Get(obj, sourcev1.SourceVerifiedCondition)
		g.Expect(c).NotTo(BeNil(), obj.Name)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse), obj.Name)
		g.Expect(c.Reason).To(Equal(reason), obj.Name)
		for _, p := range parts {
			g.Expect(c.Message).To(ContainSubstring(p), obj.Name)
		}
		g.Expect(conditions.IsReady(obj)).To(BeFalse(), obj.Name)
		g.Expect(conditions.GetReason(obj, meta.ReadyCondition)).To(Equal(reason), obj.Name)
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Expect(obj.Status.Artifact).To(BeNil(), obj.Name)
}

// Keyless cosign verification of OCIRepositories: against the trusted
// root of verify.trustedRootSecretRef (a test Sigstore: its CA standing in
// for Fulcio, its Rekor log, its timestamp authority) and the identities
// of verify.matchOIDCIdentity, in cosign's .sig format and as a Sigstore
// bundle referring to the artifact (cosign v3). A wrong identity, an expired certificate, a
// tampered payload and an unsigned artifact are refused with
// VerificationError saying why; an invalid identity regexp stalls.
func TestVerifyOCIRepositoryKeyless(t *testing.T) {
	g := NewWithT(t)
	startOCIHarness(t)
	ctx := context.Background()
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{})
	ns := env.NewNamespace(t)
	ref := reg.Host() + "/org/keyless"
	repo, err := name.NewRepository(ref, name.Insecure)
	g.Expect(err).NotTo(HaveOccurred())
	ss, err := cosigntest.NewSigstore()
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(ss.Close)
	rootJSON, err := ss.TrustedRootJSON()
	g.Expect(err).NotTo(HaveOccurred())
	for secret, data := range map[string]map[string][]byte{
		"sigstore": {cosign.TrustedRootKey: rootJSON},
		"no-root":  {"root.json": rootJSON},
	} {
		g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secret, Namespace: ns}, Data: data})).To(Succeed())
	}

	digests := map[string]string{}
	for _, tag := range []string{"signed", "bundle", "wrong-identity", "expired", "tampered", "unsigned"} {
		digests[tag] = pushArtifact(t, ref+":"+tag, map[string]string{"app.yaml": "tag: " + tag + "\n"}, "main@sha1:"+tag, false, nil)
	}
	keylessSign(g, ss, repo, digests["signed"], keylessSubject, cosigntest.SignOptions{}, false)
	keylessSign(g, ss, repo, digests["wrong-identity"], "mallory@example.org", cosigntest.SignOptions{}, false)
	// A ten-minute certificate that had expired when the signature was logged.
	keylessSign(g, ss, repo, digests["expired"], keylessSubject, cosigntest.SignOptions{Expired: true}, false)
	keylessSign(g, ss, repo, digests["tampered"], keylessSubject, cosigntest.SignOptions{}, true)
	// As cosign v3 signs: a Sigstore bundle referring to the artifact.
	b, err := ss.Bundle(cosigntest.Statement(repo, digests["bundle"], cosign.SignPredicateType), keylessSubject, keylessIssuer, cosigntest.SignOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cosigntest.PushBundle(repo, digests["bundle"], b, cosign.SignPredicateType)).To(Succeed())

	newKeyless := func(objName, tag, rootSecret string, ids ...sourcev1.OIDCIdentityMatch) *sourcev1.OCIRepository {
		obj := newOCIRepository(ns, objName, "oci://"+ref, &sourcev1.OCIRepositoryRef{Tag: tag})
		obj.Spec.Verify = &sourcev1.OCIRepositoryVerification{
			OCIVerification:      sourcev1.OCIVerification{Provider: sourcev1.CosignVerificationProvider, MatchOIDCIdentity: ids},
			TrustedRootSecretRef: &meta.LocalObjectReference{Name: rootSecret}}
		g.Expect(env.Client.Create(ctx, obj)).To(Succeed())
		return obj
	}
	ci := sourcev1.OIDCIdentityMatch{Issuer: `^https://token\.actions\.example$`, Subject: `^ci@example\.com$`}
	identity := "identity '" + keylessSubject + "' issued by '" + keylessIssuer + "'"

	signed := newKeyless("signed", "signed", "sigstore", sourcev1.OIDCIdentityMatch{Issuer: "^https://other$", Subject: ".*"}, ci)
	waitOCIReady(g, signed, "signed@"+digests["signed"])
	g.Expect(conditions.IsTrue(signed, sourcev1.SourceVerifiedCondition)).To(BeTrue())
	g.Expect(conditions.GetMessage(signed, sourcev1.SourceVerifiedCondition)).To(Equal(
		"verified signature of revision 'signed@" + digests["signed"] + "' with " + identity))

	bundled := newKeyless("bundle", "bundle", "sigstore", ci)
	waitOCIReady(g, bundled, "bundle@"+digests["bundle"])
	g.Expect(conditions.GetMessage(bundled, sourcev1.SourceVerifiedCondition)).To(Equal(
		"verified signature of revision 'bundle@" + digests["bundle"] + "' with " + identity))

	failed := func(tag string) string {
		return "signature verification of '" + tag + "@" + digests[tag] + "' failed against the trusted root of secret 'sigstore': no valid signature for '" + digests[tag] + "'"
	}
	for tag, parts := range map[string][]string{
		"wrong-identity": {failed("wrong-identity"), "the signature's identity 'mallory@example.org' issued by '" + keylessIssuer + "' matches no verify.matchOIDCIdentity entry"},
		"expired":        {failed("expired"), "the certificate of " + identity + " was valid from ", "not when the signature was logged at "},
		"tampered":       {failed("tampered"), "the transparency log entry of the signature by " + identity + " does not verify", "does not match artifact"},
		"unsigned":       {"signature verification of 'unsigned@" + digests["unsigned"] + "' failed: no signature found for '" + digests["unsigned"] + "'"},
	} {
		expectVerificationError(g, newKeyless(tag, tag, "sigstore", ci), sourcev1.VerificationError, parts...)
	}
	expectVerificationError(g, newKeyless("no-root", "signed", "no-root", ci), sourcev1.VerificationError, "secret 'no-root' has no 'trusted_root.json' key")

	invalid := newKeyless("invalid", "signed", "sigstore", sourcev1.OIDCIdentityMatch{Issuer: ".*", Subject: "(ci"})
	expectVerificationError(g, invalid, sourcev1.VerificationError, "invalid verify.matchOIDCIdentity[0].subject: ")
	g.Expect(conditions.IsStalled(invalid)).To(BeTrue())
}

// HelmCharts from an OCI HelmRepository verify keyless signatures too,
// against the controller's trusted root (--sigstore-trusted-root): the
// HelmChart API has no trustedRootSecretRef.
func TestVerifyHelmChartKeyless(t *testing.T) {
	g := NewWithT(t)
	startOCIHarness(t)
	ctx := context.Background()
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{})
	ns := env.NewNamespace(t)
	repo, err := name.NewRepository(reg.Host()+"/charts/app", name.Insecure)
	g.Expect(err).NotTo(HaveOccurred())
	ss, err := cosigntest.NewSigstore()
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(ss.Close)
	rootJSON, err := ss.TrustedRootJSON()
	g.Expect(err).NotTo(HaveOccurred())
	path := filepath.Join(t.TempDir(), cosign.TrustedRootKey)
	g.Expect(os.WriteFile(path, rootJSON, 0o600)).To(Succeed())
	cosign.SetDefaultTrustedRoot(path)
	t.Cleanup(func() { cosign.SetDefaultTrustedRoot("") })

	digests := map[string]string{}
	for _, v := range []string{"1.0.0", "2.0.0"} {
		digests[v] = pushOCIChart(g, t, repo, "app", v, nil)
	}
	keylessSign(g, ss, repo, digests["1.0.0"], keylessSubject, cosigntest.SignOptions{}, false)
	keylessSign(g, ss, repo, digests["2.0.0"], "mallory@example.org", cosigntest.SignOptions{}, false)
	hr := &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Name: "charts", Namespace: ns},
		Spec: sourcev1.HelmRepositorySpec{URL: "oci://" + reg.Host() + "/charts", Type: "oci", Insecure: true,
			Interval: metav1.Duration{Duration: time.Hour}}}
	g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
	newChart := func(version string) *sourcev1.HelmChart {
		hc := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Name: "app-" + strings.ReplaceAll(version, ".", "-"), Namespace: ns},
			Spec: sourcev1.HelmChartSpec{Chart: "app", Version: version, Interval: metav1.Duration{Duration: time.Hour},
				SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.HelmRepositoryKind, Name: "charts"},
				Verify: &sourcev1.OCIVerification{Provider: sourcev1.CosignVerificationProvider,
					MatchOIDCIdentity: []sourcev1.OIDCIdentityMatch{{Issuer: "^https://token\\.actions\\.example$", Subject: "^ci@"}}}}}
		g.Expect(env.Client.Create(ctx, hc)).To(Succeed())
		return hc
	}

	verified := newChart("1.0.0")
	waitSourceReady(g, verified, func(g Gomega) { g.Expect(verified.Status.Artifact).NotTo(BeNil()) })
	g.Expect(conditions.GetMessage(verified, sourcev1.SourceVerifiedCondition)).To(Equal(
		"verified signature of revision '1.0.0' with identity '" + keylessSubject + "' issued by '" + keylessIssuer + "'"))

	refused := newChart("2.0.0")
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(refused), refused)).To(Succeed())
		g.Expect(conditions.GetReason(refused, meta.ReadyCondition)).To(Equal(sourcev1.VerificationError))
		g.Expect(conditions.GetMessage(refused, sourcev1.SourceVerifiedCondition)).To(ContainSubstring(
			"the signature's identity 'mallory@example.org' issued by '" + keylessIssuer + "' matches no verify.matchOIDCIdentity entry"))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Expect(refused.Status.Artifact).To(BeNil())
}
