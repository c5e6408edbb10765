package controller

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
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

// signArtifact pushes, as the signature of digest, a cosign signature of
// signedDigest made with key.
func signArtifact(g Gomega, repo name.Repository, digest, signedDigest string, key crypto.Signer) {
	sig, err := cosigntest.SignWithKey(cosigntest.Payload(repo, signedDigest), key)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cosigntest.Push(repo, digest, []cosigntest.Layer{sig})).To(Succeed())
}

func publicKeyPEM(g Gomega, key crypto.Signer) []byte {
	data, err := cosigntest.PublicKeyPEM(key)
	g.Expect(err).NotTo(HaveOccurred())
	return data
}

// spec.verify with cosign: a signature made with a trusted key over the
// artifact's digest lets it in; unsigned, signed by another key or a
// signature of another digest are refused with SourceVerified False and
// no artifact (notation: see TestOCIRepositoryNotationVerification).
func TestOCIRepositoryCosignVerification(t *testing.T) {
	g := NewWithT(t)
	startOCIHarness(t)
	ctx := context.Background()
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{})
	ns := env.NewNamespace(t)
	ref := reg.Host() + "/org/signed"
	repo, err := name.NewRepository(ref, name.Insecure)
	g.Expect(err).NotTo(HaveOccurred())
	trusted, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	g.Expect(err).NotTo(HaveOccurred())
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	g.Expect(err).NotTo(HaveOccurred())

	digests := map[string]string{}
	for _, tag := range []string{"signed", "unsigned", "other-key", "replayed"} {
		digests[tag] = pushArtifact(t, ref+":"+tag, map[string]string{"app.yaml": "tag: " + tag + "\n"}, "main@sha1:"+tag, false, nil)
	}
	signArtifact(g, repo, digests["signed"], digests["signed"], trusted)
	signArtifact(g, repo, digests["other-key"], digests["other-key"], other)
	// A genuine signature, but of another artifact, under this one's tag.
	signArtifact(g, repo, digests["replayed"], digests["signed"], trusted)

	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cosign-keys", Namespace: ns},
		Data: map[string][]byte{"cosign.pub": publicKeyPEM(g, trusted), "README": []byte("not a key")}})).To(Succeed())
	newVerified := func(objName, tag string, verify *sourcev1.OCIRepositoryVerification) *sourcev1.OCIRepository {
		obj := newOCIRepository(ns, objName, "oci://"+ref, &sourcev1.OCIRepositoryRef{Tag: tag})
		obj.Spec.Verify = verify
		g.Expect(env.Client.Create(ctx, obj)).To(Succeed())
		return obj
	}
	withKeys := func() *sourcev1.OCIRepositoryVerification {
		return &sourcev1.OCIRepositoryVerification{OCIVerification: sourcev1.OCIVerification{
			Provider: sourcev1.CosignVerificationProvider, SecretRef: &meta.LocalObjectReference{Name: "cosign-keys"}}}
	}

	signed := newVerified("signed", "signed", withKeys())
	waitOCIReady(g, signed, "signed@"+digests["signed"])
	g.Expect(conditions.IsTrue(signed, sourcev1.SourceVerifiedCondition)).To(BeTrue())
	g.Expect(conditions.GetMessage(signed, sourcev1.SourceVerifiedCondition)).To(Equal(
		"verified signature of revision 'signed@" + digests["signed"] + "' with key 'cosign.pub'"))

	for tag, message := range map[string]string{
		"unsigned": "signature verification of 'unsigned@" + digests["unsigned"] + "' failed: no signature found for '" + digests["unsigned"] +
			"': no tag '" + cosign.SignatureTag(digests["unsigned"]) + "' in " + ref + " and no Sigstore bundle refers to it",
		"other-key": "signature verification of 'other-key@" + digests["other-key"] + "' failed with the keys of secret 'cosign-keys': no valid signature for '" +
			digests["other-key"] + "' in " + ref + ":" + cosign.SignatureTag(digests["other-key"]) + ": the signature does not verify with any trusted key",
		"replayed": "signature verification of 'replayed@" + digests["replayed"] + "' failed with the keys of secret 'cosign-keys': no valid signature for '" +
			digests["replayed"] + "' in " + ref + ":" + cosign.SignatureTag(digests["replayed"]) + ": payload signed by 'cosign.pub' is for digest '" + digests["signed"] + "'",
	} {
		obj := newVerified(tag, tag, withKeys())
		g.Eventually(func(g Gomega) {
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
			c := conditions.Get(obj, sourcev1.SourceVerifiedCondition)
			g.Expect(c).NotTo(BeNil(), tag)
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse), tag)
			g.Expect(c.Reason).To(Equal(sourcev1.VerificationError), tag)
			g.Expect(c.Message).To(Equal(message), tag)
			g.Expect(conditions.IsReady(obj)).To(BeFalse(), tag)
			g.Expect(conditions.GetReason(obj, meta.ReadyCondition)).To(Equal(sourcev1.VerificationError), tag)
		}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
		g.Expect(obj.Status.Artifact).To(BeNil(), tag)
	}
}
