package controller

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/git"
	"gotk.dev/pkg/testserver"
)

// signingKey returns an OpenPGP entity and its armored public key.
func signingKey(g Gomega) (*openpgp.Entity, []byte) {
	e, err := openpgp.NewEntity("gotk test", "", "test@gotk.dev", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	g.Expect(err).NotTo(HaveOccurred())
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(e.Serialize(w)).To(Succeed())
	g.Expect(w.Close()).To(Succeed())
	return e, buf.Bytes()
}

// pushSigned clones repo's main branch, commits a file signed with key,
// tags it with a signed annotated tag and pushes both; it returns the commit.
func pushSigned(g Gomega, srv *testserver.GitHTTP, repo, tag string, key *openpgp.Entity) string {
	ctx := context.Background()
	u, err := git.ParseURL(srv.URL(repo))
	g.Expect(err).NotTo(HaveOccurred())
	dir, err := os.MkdirTemp("", "signed-")
	g.Expect(err).NotTo(HaveOccurred())
	defer os.RemoveAll(dir)
	_, err = git.Clone(ctx, u, dir, git.CloneOptions{Ref: git.Reference{Branch: "main"}})
	g.Expect(err).NotTo(HaveOccurred())
	r, err := gogit.PlainOpen(dir)
	g.Expect(err).NotTo(HaveOccurred())
	wt, err := r.Worktree()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(os.WriteFile(filepath.Join(dir, "signed.yaml"), []byte("signed: true"), 0o644)).To(Succeed())
	_, err = wt.Add("signed.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	who := &object.Signature{Name: "t", Email: "t@gotk.dev", When: time.Now()}
	head, err := wt.Commit("signed commit", &gogit.CommitOptions{Author: who, SignKey: key})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = r.CreateTag(tag, head, &gogit.CreateTagOptions{Tagger: who, Message: "release", SignKey: key})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(git.Push(ctx, dir, u, git.PushOptions{RefSpecs: []string{head.String() + ":refs/heads/main", "refs/tags/" + tag + ":refs/tags/" + tag}})).To(Succeed())
	return head.String()
}

// TestGitRepositoryVerify publishes an artifact only when the commit (and
// tag) signatures verify against the keys in the referenced Secret.
func TestGitRepositoryVerify(t *testing.T) {
	g := NewWithT(t)
	startHarness(t)
	ns := env.NewNamespace(t)
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	_, err := srv.CommitFiles("app", "main", map[string]string{"a.yaml": "a"}, "unsigned base")
	g.Expect(err).NotTo(HaveOccurred())
	key, pub := signingKey(g)
	_, otherPub := signingKey(g)
	head := pushSigned(g, srv, "app", "v1.0.0", key)
	newSecret(g, ns, "trusted", map[string][]byte{"author.asc": pub})
	newSecret(g, ns, "untrusted", map[string][]byte{"other.asc": otherPub})

	cases := []struct {
		name, secret string
		mode         sourcev1.GitVerificationMode
		ref          *sourcev1.GitRepositoryRef
		ok           bool
		message      string
	}{
		{"head", "trusted", sourcev1.ModeGitHEAD, &sourcev1.GitRepositoryRef{Branch: "main"}, true, "verified signature of commit '" + head + "'"},
		{"tag-and-head", "trusted", sourcev1.ModeGitTagAndHEAD, &sourcev1.GitRepositoryRef{Tag: "v1.0.0"}, true, "verified signature of tag 'v1.0.0'"},
		{"wrong-key", "untrusted", sourcev1.ModeGitHEAD, &sourcev1.GitRepositoryRef{Branch: "main"}, false, "not made by a trusted key"},
		{"tag-on-branch", "trusted", sourcev1.ModeGitTag, &sourcev1.GitRepositoryRef{Branch: "main"}, false, "not an annotated tag"},
	}
	for _, c := range cases {
		obj := newGitRepository(ns, c.name, srv.URL("app"), c.ref)
		obj.Spec.Verification = &sourcev1.GitRepositoryVerification{Mode: c.mode, SecretRef: meta.LocalObjectReference{Name: c.secret}}
		g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	}
	for _, c := range cases {
		obj := newGitRepository(ns, c.name, "", nil)
		if c.ok {
			got := waitReady(g, obj)
			g.Expect(conditions.IsTrue(got, sourcev1.SourceVerifiedCondition)).To(BeTrue(), c.name)
			g.Expect(conditions.GetMessage(got, sourcev1.SourceVerifiedCondition)).To(ContainSubstring(c.message), c.name)
			g.Expect(*got.Status.SourceVerificationMode).To(Equal(c.mode))
			g.Expect(got.Status.Artifact.Revision).To(HaveSuffix(head))
			continue
		}
		got := waitCondition(g, obj, meta.ReadyCondition, metav1.ConditionFalse, sourcev1.VerificationError)
		g.Expect(conditions.IsFalse(got, sourcev1.SourceVerifiedCondition)).To(BeTrue(), c.name)
		g.Expect(conditions.GetMessage(got, sourcev1.SourceVerifiedCondition)).To(ContainSubstring(c.message), c.name)
		g.Expect(got.Status.Artifact).To(BeNil(), "%s: no artifact without a verified signature", c.name)
	}
}
