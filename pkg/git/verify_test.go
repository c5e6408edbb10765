package git_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	. "github.com/onsi/gomega"

	"gotk.dev/pkg/git"
	"gotk.dev/pkg/testserver"
)

// newSigningKey returns an OpenPGP entity and its armored public key.
func newSigningKey(t *testing.T) (*openpgp.Entity, []byte) {
	t.Helper()
	e, err := openpgp.NewEntity("gotk test", "", "test@gotk.dev", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return e, buf.Bytes()
}

// TestVerifySignatures pushes a signed commit and a signed annotated tag,
// checks both out and verifies them with the right and a wrong key.
func TestVerifySignatures(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	_, err := srv.CommitFiles("app", "main", map[string]string{"a": "1"}, "unsigned")
	g.Expect(err).NotTo(HaveOccurred())
	u := mustURL(t, srv.URL("app"))
	key, pub := newSigningKey(t)
	_, otherPub := newSigningKey(t)

	dir := t.TempDir()
	unsigned, err := git.Clone(ctx, u, dir, git.CloneOptions{Ref: git.Reference{Branch: "main"}})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = unsigned.Signed.Verify(pub)
	g.Expect(errors.Is(err, git.ErrUnsigned)).To(BeTrue())

	repo, err := gogit.PlainOpen(dir)
	g.Expect(err).NotTo(HaveOccurred())
	wt, err := repo.Worktree()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(os.WriteFile(filepath.Join(dir, "b"), []byte("2"), 0o644)).To(Succeed())
	_, err = wt.Add("b")
	g.Expect(err).NotTo(HaveOccurred())
	sig := &object.Signature{Name: "t", Email: "t@gotk.dev", When: time.Now()}
	head, err := wt.Commit("signed", &gogit.CommitOptions{Author: sig, SignKey: key})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = repo.CreateTag("v1.0.0", head, &gogit.CreateTagOptions{Tagger: sig, Message: "release", SignKey: key})
	g.Expect(err).NotTo(HaveOccurred())
	// The clone is detached at the fetched commit: push HEAD.
	g.Expect(git.Push(ctx, dir, u, git.PushOptions{RefSpecs: []string{head.String() + ":refs/heads/main", "refs/tags/v1.0.0:refs/tags/v1.0.0"}})).To(Succeed())

	c, err := git.Clone(ctx, u, t.TempDir(), git.CloneOptions{Ref: git.Reference{Tag: "v1.0.0"}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c.Hash).To(Equal(head.String()))
	id, err := c.Signed.Verify(otherPub, pub)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(id).To(Equal(key.PrimaryKey.KeyIdString()))
	g.Expect(c.Tag).NotTo(BeNil())
	_, err = c.Tag.Signed.Verify(pub)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = c.Signed.Verify(otherPub)
	g.Expect(err).To(MatchError(ContainSubstring("not made by a trusted key")))
}
