package controller

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/sops/sopstest"
)

// TestSOPSDecryption follows the seed's SOPS flow: an age-encrypted Secret
// (encrypted here with a fresh key) in its own path, decrypted with the
// keys of spec.decryption.secretRef; a wrong key applies nothing.
func TestSOPSDecryption(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	id, err := age.GenerateX25519Identity()
	g.Expect(err).NotTo(HaveOccurred())
	plain := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\nstringData:\n  password: hunter2\n"
	enc, err := sopstest.Encrypt("secret.yaml", []byte(plain), sopstest.Recipients{Age: []string{id.Recipient().String()}}, sopstest.Options{EncryptedRegex: "^(data|stringData)$"})
	g.Expect(err).NotTo(HaveOccurred())
	envFile, err := sopstest.Encrypt("db.env", []byte("USER=admin\n"), sopstest.Recipients{Age: []string{id.Recipient().String()}}, sopstest.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	files := map[string]string{
		"secrets/secret.yaml": string(enc),
		"secrets/db.env":      string(envFile),
		"secrets/cm.yaml":     configMap(ns, "plain", ""),
		// The overlay's namespace transformer runs after decryption, so
		// the MAC still verifies.
		"secrets/kustomization.yaml": "namespace: " + ns + "\nresources: [secret.yaml, cm.yaml]\nsecretGenerator:\n- name: gen\n  envs: [db.env]\n  options: {disableNameSuffixHash: true}\n",
	}
	newGitRepository(t, ns, "repo", publish(t, files))
	g.Expect(env.Client.Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sops-age"},
		StringData: map[string]string{"identity.agekey": id.String()},
	})).To(Succeed())
	other, _ := age.GenerateX25519Identity()
	g.Expect(env.Client.Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "wrong-age"},
		StringData: map[string]string{"identity.agekey": other.String()},
	})).To(Succeed())

	wrong := newKustomization(t, ns, "wrong", "repo", func(ks *kustomizev1.Kustomization) {
		ks.Spec.Path = "secrets"
		ks.Spec.Decryption = &kustomizev1.Decryption{Provider: "sops", SecretRef: &meta.LocalObjectReference{Name: "wrong-age"}}
	})
	cur := waitReady(t, wrong, metav1.ConditionFalse, DecryptionFailedReason, 30*time.Second)
	msg := conditions.GetMessage(cur, meta.ReadyCondition)
	g.Expect(msg).To(ContainSubstring("secrets/"))
	g.Expect(msg).To(ContainSubstring("no key can decrypt the data key"))
	g.Expect(msg).NotTo(ContainSubstring("hunter2"))
	g.Expect(exists(configMapGVK, ns, "plain")).To(BeFalse())
	g.Expect(env.Client.Delete(context.Background(), cur)).To(Succeed())

	// Without spec.decryption the encrypted file is refused, not applied.
	none := newKustomization(t, ns, "none", "repo", func(ks *kustomizev1.Kustomization) { ks.Spec.Path = "secrets" })
	cur = waitReady(t, none, metav1.ConditionFalse, DecryptionFailedReason, 30*time.Second)
	g.Expect(conditions.GetMessage(cur, meta.ReadyCondition)).To(ContainSubstring("no decryption key is configured"))
	g.Expect(env.Client.Delete(context.Background(), cur)).To(Succeed())

	ks := newKustomization(t, ns, "secrets", "repo", func(ks *kustomizev1.Kustomization) {
		ks.Spec.Path = "secrets"
		ks.Spec.Decryption = &kustomizev1.Decryption{Provider: "sops", SecretRef: &meta.LocalObjectReference{Name: "sops-age"}}
	})
	waitReady(t, ks, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)
	var s corev1.Secret
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "db"}, &s)).To(Succeed())
	g.Expect(string(s.Data["password"])).To(Equal("hunter2"))
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "gen"}, &s)).To(Succeed())
	g.Expect(string(s.Data["USER"])).To(Equal("admin"))
}

// TestDecryptionServiceAccount: with the ObjectLevelWorkloadIdentity gate
// on, spec.decryption.serviceAccountName (else
// --default-decryption-service-account) is a ServiceAccount of the
// Kustomization's namespace whose annotations and tokens — minted by the
// API server for the cloud's audience — are the decryption identity.
func TestDecryptionServiceAccount(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	const role = "arn:aws:iam::111122223333:role/sops"
	g.Expect(env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "kms",
		Annotations: map[string]string{cloudauth.AnnotationAWSRoleARN: role}}})).To(Succeed())
	r := newReconciler(env.Client, env.Client, reconciler.Events)
	r.WorkloadIdentity = true
	r.DefaultDecryptionServiceAccount = "kms"
	obj := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ks"},
		Spec: kustomizev1.KustomizationSpec{Decryption: &kustomizev1.Decryption{Provider: "sops"}}}

	_, err := r.decryptor(ctx, obj)
	g.Expect(err).NotTo(HaveOccurred(), "the default decryption ServiceAccount exists")
	id, err := r.decryptionIdentity(ctx, obj, "kms")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(id.Annotations).To(HaveKeyWithValue(cloudauth.AnnotationAWSRoleARN, role))
	token, err := id.Token(ctx, cloudauth.AudienceAWS)
	g.Expect(err).NotTo(HaveOccurred())
	parts := strings.Split(token, ".")
	g.Expect(parts).To(HaveLen(3))
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	g.Expect(err).NotTo(HaveOccurred())
	var claims struct {
		Aud []string `json:"aud"`
		Sub string   `json:"sub"`
	}
	g.Expect(json.Unmarshal(payload, &claims)).To(Succeed())
	g.Expect(claims.Aud).To(Equal([]string{cloudauth.AudienceAWS}))
	g.Expect(claims.Sub).To(Equal("system:serviceaccount:" + ns + ":kms"))

	// A named ServiceAccount wins over the default; a missing one waits.
	obj.Spec.Decryption.ServiceAccountName = "missing"
	_, err = r.decryptor(ctx, obj)
	g.Expect(err).To(MatchError(ContainSubstring("decryption ServiceAccount " + ns + "/missing not found")))
	// Without the gate the named one is refused, naming the gate.
	r.WorkloadIdentity = false
	_, err = r.decryptor(ctx, obj)
	g.Expect(err).To(MatchError(ContainSubstring("ObjectLevelWorkloadIdentity")))
}
