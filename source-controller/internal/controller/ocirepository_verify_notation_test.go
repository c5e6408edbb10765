package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testserver"
	"gotk.dev/source-controller/internal/notation/notationtest"
)

// spec.verify with notation: a signature whose certificate chains to a
// CA of verify.secretRef, under a trust policy whose registryScopes
// cover the repository, lets the artifact in with SourceVerified True;
// a statement of level skip lets anything in unverified; everything else
// is a VerificationError with no artifact stored.
func TestOCIRepositoryNotationVerification(t *testing.T) {
	g := NewWithT(t)
	startOCIHarness(t)
	ctx := context.Background()
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{})
	ns := env.NewNamespace(t)
	ref := reg.Host() + "/org/notarized"
	trusted, err := notationtest.NewSigner("trusted CA")
	g.Expect(err).NotTo(HaveOccurred())
	untrusted, err := notationtest.NewSigner("untrusted CA")
	g.Expect(err).NotTo(HaveOccurred())

	digests := map[string]string{}
	for _, tag := range []string{"signed", "unsigned", "untrusted"} {
		digests[tag] = pushArtifact(t, ref+":"+tag, map[string]string{"app.yaml": "tag: " + tag + "\n"}, "main@sha1:"+tag, false, nil)
	}
	g.Expect(trusted.Sign(ctx, ref, digests["signed"], nil)).To(Succeed())
	g.Expect(untrusted.Sign(ctx, ref, digests["untrusted"], nil)).To(Succeed())

	secrets := map[string]map[string][]byte{
		"trust":       {"trustpolicy.json": notationtest.TrustPolicy("gotk", ref), "ca.crt": trusted.CAPEM(), "README": []byte("not a certificate")},
		"other-scope": {"trustpolicy.json": notationtest.TrustPolicy("gotk", reg.Host()+"/org/other"), "ca.pem": trusted.CAPEM()},
		"bad-policy":  {"trustpolicy.json": []byte(`{"version":"1.0","trustPolicies":[]}`), "ca.crt": trusted.CAPEM()},
		"not-json":    {"trustpolicy.json": []byte(`{"version":`), "ca.crt": trusted.CAPEM()},
		"no-policy":   {"ca.crt": trusted.CAPEM()},
		"no-certs":    {"trustpolicy.json": notationtest.TrustPolicy("gotk", "*")},
		"skip": {"trustpolicy.json": []byte(`{"version":"1.0","trustPolicies":[{"name":"lenient","registryScopes":["*"],` +
			`"signatureVerification":{"level":"skip"}}]}`), "ca.crt": trusted.CAPEM()},
		"bad-cert": {"trustpolicy.json": notationtest.TrustPolicy("gotk", "*"), "ca.crt": []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")},
	}
	for secretName, data := range secrets {
		g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secretName, Namespace: ns}, Data: data})).To(Succeed())
	}
	withSecret := func(secretName string) *sourcev1.OCIRepositoryVerification {
		v := &sourcev1.OCIRepositoryVerification{OCIVerification: sourcev1.OCIVerification{Provider: sourcev1.NotationVerificationProvider}}
		if secretName != "" {
			v.SecretRef = &meta.LocalObjectReference{Name: secretName}
		}
		return v
	}
	rev := func(tag string) string { return tag + "@" + digests[tag] }

	for objName, tc := range map[string]struct {
		tag, secret string
		verified    bool   // SourceVerified True and an artifact
		skipped     bool   // an artifact and no SourceVerified
		message     string // SourceVerified's message (exact when verified, else a substring)
		prefix      string // SourceVerified's message starts so when refused
	}{
		"valid-signature": {tag: "signed", secret: "trust", verified: true,
			message: "verified signature of revision '" + rev("signed") + "' with certificate 'CN=trusted CA signer,O=gotk test' under trust policy 'gotk'"},
		"level-skip": {tag: "unsigned", secret: "skip", skipped: true},
		"no-signature": {tag: "unsigned", secret: "trust",
			message: "signature verification of '" + rev("unsigned") + "' failed: no notation signature found for '" + digests["unsigned"] +
				"': no signature manifest in " + ref + " refers to it"},
		"untrusted-cert": {tag: "untrusted", secret: "trust",
			prefix:  "signature verification of '" + rev("untrusted") + "' failed with the trust policy of secret 'trust': trust policy 'gotk': failed to verify signature with digest sha256:",
			message: "the signature's certificate chain does not contain any trusted certificate"},
		"scope-mismatch": {tag: "signed", secret: "other-scope",
			message: "signature verification of '" + rev("signed") + "' failed with the trust policy of secret 'other-scope': no trust policy statement's registryScopes match '" + ref + "'"},
		"empty-trust-policy": {tag: "signed", secret: "bad-policy",
			prefix: "secret 'bad-policy': key 'trustpolicy.json' is invalid: ", message: "trust policy document can not have zero trust policy statements"},
		"malformed-trust-policy": {tag: "signed", secret: "not-json",
			prefix: "secret 'not-json': key 'trustpolicy.json' is not a trust policy document: ", message: "unexpected end of JSON input"},
		"trust-policy-missing": {tag: "signed", secret: "no-policy", message: "secret 'no-policy': no 'trustpolicy.json' key"},
		"certificates-missing": {tag: "signed", secret: "no-certs", message: "secret 'no-certs': no certificates: no key ends in '.crt' or '.pem'"},
		"bad-certificate":      {tag: "signed", secret: "bad-cert", prefix: "secret 'bad-cert': key 'ca.crt': "},
		"secret-ref-missing":   {tag: "signed", message: "verification with provider 'notation' needs verify.secretRef: a Secret with 'trustpolicy.json' and the trusted certificates"},
		"secret-missing":       {tag: "signed", secret: "absent", message: "secret 'absent' not found"},
	} {
		t.Run(objName, func(t *testing.T) {
			g := NewWithT(t)
			obj := newOCIRepository(ns, objName, "oci://"+ref, &sourcev1.OCIRepositoryRef{Tag: tc.tag})
			obj.Spec.Verify = withSecret(tc.secret)
			g.Expect(env.Client.Create(ctx, obj)).To(Succeed())
			if tc.skipped {
				waitOCIReady(g, obj, rev(tc.tag))
				g.Expect(conditions.Get(obj, sourcev1.SourceVerifiedCondition)).To(BeNil())
				return
			}
			if tc.verified {
				waitOCIReady(g, obj, rev(tc.tag))
				g.Expect(conditions.IsTrue(obj, sourcev1.SourceVerifiedCondition)).To(BeTrue())
				g.Expect(conditions.GetMessage(obj, sourcev1.SourceVerifiedCondition)).To(Equal(tc.message))
				return
			}
			g.Eventually(func(g Gomega) {
				g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
				c := conditions.Get(obj, sourcev1.SourceVerifiedCondition)
				g.Expect(c).NotTo(BeNil())
				g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
				g.Expect(c.Reason).To(Equal(sourcev1.VerificationError))
				g.Expect(c.Message).To(HavePrefix(tc.prefix))
				g.Expect(c.Message).To(ContainSubstring(tc.message))
				g.Expect(c.Message).NotTo(ContainSubstring("\n"))
				g.Expect(conditions.IsReady(obj)).To(BeFalse())
				g.Expect(conditions.GetReason(obj, meta.ReadyCondition)).To(Equal(sourcev1.VerificationError))
				g.Expect(conditions.GetMessage(obj, meta.ReadyCondition)).To(Equal(c.Message))
			}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
			g.Expect(obj.Status.Artifact).To(BeNil())
		})
	}
}
