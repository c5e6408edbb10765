package controller

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/fluxcd/pkg/apis/meta"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	. "github.com/onsi/gomega"
	"golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	imagev1 "gotk.dev/pkg/apis/image/v1"
)

// The automation signs its commit with the OpenPGP key of signingKey; the
// pushed commit verifies with the public key, and a Secret that is not a
// private key stalls with InvalidSigningKey.
func TestImageUpdateAutomationSignsCommits(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	repo := ns + "-app"
	gitSource(t, ns, repo, gitPassword)
	patch := gitOut(t, repo, "show", "main:"+seedPatchPath)
	patch = strings.Replace(patch, `"flux-system:my-app"`, `"`+ns+`:my-app"`, 1)
	_, err := gitSrv.CommitFiles(repo, "main", map[string]string{seedPatchPath: patch + "\n"}, "point marker at test namespace")
	g.Expect(err).NotTo(HaveOccurred())
	policyAt(t, ns, ns+"/my-app", "v1.2.3", "v1.2.4")

	entity, err := openpgp.NewEntity("bot", "", "bot@example.com", nil)
	g.Expect(err).NotTo(HaveOccurred())
	var priv, pub bytes.Buffer
	w, _ := armor.Encode(&priv, openpgp.PrivateKeyType, nil)
	g.Expect(entity.SerializePrivate(w, nil)).To(Succeed())
	w.Close()
	w, _ = armor.Encode(&pub, openpgp.PublicKeyType, nil)
	g.Expect(entity.Serialize(w)).To(Succeed())
	w.Close()
	for name, data := range map[string][]byte{"gpg": priv.Bytes(), "public-only": pub.Bytes()} {
		g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Data: map[string][]byte{"git.asc": data}})).To(Succeed())
	}

	bad := newAutomation(ns, "bad-key", repo)
	bad.Spec.GitSpec.Commit.SigningKey = &imagev1.SigningKey{SecretRef: meta.LocalObjectReference{Name: "public-only"}}
	g.Expect(env.Client.Create(ctx, bad)).To(Succeed())
	stalled(t, bad, SigningKeyInvalidReason, "holds no private key")

	auto := newAutomation(ns, "signed", repo)
	auto.Spec.GitSpec.Commit.SigningKey = &imagev1.SigningKey{SecretRef: meta.LocalObjectReference{Name: "gpg"}}
	g.Expect(env.Client.Create(ctx, auto)).To(Succeed())
	auto = readyTrue(t, auto)
	path, err := gitSrv.Path(repo)
	g.Expect(err).NotTo(HaveOccurred())
	r, err := gogit.PlainOpen(path)
	g.Expect(err).NotTo(HaveOccurred())
	commit, err := r.CommitObject(plumbing.NewHash(auto.Status.LastPushCommit))
	g.Expect(err).NotTo(HaveOccurred())
	_, err = commit.Verify(pub.String())
	g.Expect(err).NotTo(HaveOccurred(), "the pushed commit is signed with the key")
}

// With signingKey type ssh the automation signs its commit with the SSH
// key in `identity`; `git verify-commit` (gpg.format=ssh) accepts the
// pushed commit for the key's allowed signer, and a Secret without
// `identity` stalls with InvalidSigningKey.
func TestImageUpdateAutomationSignsCommitsSSH(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	repo := ns + "-app"
	gitSource(t, ns, repo, gitPassword)
	patch := gitOut(t, repo, "show", "main:"+seedPatchPath)
	patch = strings.Replace(patch, `"flux-system:my-app"`, `"`+ns+`:my-app"`, 1)
	_, err := gitSrv.CommitFiles(repo, "main", map[string]string{seedPatchPath: patch + "\n"}, "point marker at test namespace")
	g.Expect(err).NotTo(HaveOccurred())
	policyAt(t, ns, ns+"/my-app", "v1.2.3", "v1.2.4")

	_, key, err := ed25519.GenerateKey(rand.Reader)
	g.Expect(err).NotTo(HaveOccurred())
	block, err := ssh.MarshalPrivateKey(key, "bot@example.com")
	g.Expect(err).NotTo(HaveOccurred())
	signer, err := ssh.NewSignerFromKey(key)
	g.Expect(err).NotTo(HaveOccurred())
	for name, data := range map[string]map[string][]byte{
		"ssh-key":     {"identity": pem.EncodeToMemory(block)},
		"no-identity": {"git.asc": []byte("not this one")},
	} {
		g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: data})).To(Succeed())
	}

	bad := newAutomation(ns, "bad-ssh-key", repo)
	bad.Spec.GitSpec.Commit.SigningKey = &imagev1.SigningKey{SecretRef: meta.LocalObjectReference{Name: "no-identity"}, Type: imagev1.SigningKeyTypeSSH}
	g.Expect(env.Client.Create(ctx, bad)).To(Succeed())
	stalled(t, bad, SigningKeyInvalidReason, "has no `identity` key")

	auto := newAutomation(ns, "ssh-signed", repo)
	auto.Spec.GitSpec.Commit.SigningKey = &imagev1.SigningKey{SecretRef: meta.LocalObjectReference{Name: "ssh-key"}, Type: imagev1.SigningKeyTypeSSH}
	g.Expect(env.Client.Create(ctx, auto)).To(Succeed())
	auto = readyTrue(t, auto)

	allowed := filepath.Join(t.TempDir(), "allowed_signers")
	g.Expect(os.WriteFile(allowed, append([]byte("bot@example.com "), ssh.MarshalAuthorizedKey(signer.PublicKey())...), 0o600)).To(Succeed())
	path, err := gitSrv.Path(repo)
	g.Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command("git", "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile="+allowed, "verify-commit", auto.Status.LastPushCommit)
	cmd.Dir = path
	out, err := cmd.CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))
	g.Expect(string(out)).To(ContainSubstring(`Good "git" signature for bot@example.com`))
}
