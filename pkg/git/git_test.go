package git_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"golang.org/x/crypto/ssh/knownhosts"

	"gotk.dev/pkg/git"
	"gotk.dev/pkg/testserver"
)

func mustURL(t *testing.T, raw string) *git.URL {
	t.Helper()
	u, err := git.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestCloneRefKinds checks out every reference kind from a real smart-HTTP
// server and checks the commit and Flux revision of each.
func TestCloneRefKinds(t *testing.T) {
	g := NewWithT(t)
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	first, err := srv.CommitFiles("app", "master", map[string]string{"a.txt": "1"}, "first")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(srv.Tag("app", "v1.0.0", first)).To(Succeed())
	second, err := srv.CommitFiles("app", "master", map[string]string{"a.txt": "2"}, "second")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(srv.AnnotatedTag("app", "v1.1.0", second, "release")).To(Succeed())
	g.Expect(srv.Tag("app", "v2.0.0-rc.1", second)).To(Succeed())
	dev, err := srv.CommitFiles("app", "dev", map[string]string{"a.txt": "dev"}, "dev work")
	g.Expect(err).NotTo(HaveOccurred())
	u := mustURL(t, srv.URL("app"))

	cases := []struct {
		ref      git.Reference
		commit   string
		revision string
		content  string
	}{
		{git.Reference{}, second, "master@sha1:" + second, "2"},
		{git.Reference{Branch: "dev"}, dev, "dev@sha1:" + dev, "dev"},
		{git.Reference{Tag: "v1.0.0"}, first, "v1.0.0@sha1:" + first, "1"},
		{git.Reference{Tag: "v1.1.0"}, second, "v1.1.0@sha1:" + second, "2"},
		{git.Reference{SemVer: ">=1.0.0 <2.0.0", Tag: "v1.0.0"}, second, "v1.1.0@sha1:" + second, "2"},
		{git.Reference{Name: "refs/heads/dev", Branch: "master"}, dev, "refs/heads/dev@sha1:" + dev, "dev"},
		{git.Reference{Commit: first, Name: "refs/heads/dev"}, first, "sha1:" + first, "1"},
		{git.Reference{Commit: first, Branch: "master"}, first, "master@sha1:" + first, "1"},
	}
	for _, c := range cases {
		t.Run(c.ref.Kind()+":"+c.revision[:12], func(t *testing.T) {
			g := NewWithT(t)
			dir := t.TempDir()
			got, err := git.Clone(context.Background(), u, dir, git.CloneOptions{Ref: c.ref})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got.Hash).To(Equal(c.commit))
			g.Expect(got.Revision).To(Equal(c.revision))
			data, err := os.ReadFile(filepath.Join(dir, "a.txt"))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(data)).To(Equal(c.content))
		})
	}

	// Missing refs are named in the error.
	for ref, want := range map[git.Reference]string{
		{Branch: "nope"}:                   "branch 'nope' not found",
		{Tag: "v9"}:                        "tag 'v9' not found",
		{SemVer: ">=5"}:                    "semver '>=5' not found",
		{Name: "refs/pull/1/head"}:         "ref 'refs/pull/1/head' not found",
		{Commit: strings.Repeat("ab", 20)}: "commit '" + strings.Repeat("ab", 20) + "'",
	} {
		_, err := git.Clone(context.Background(), u, t.TempDir(), git.CloneOptions{Ref: ref})
		g.Expect(git.IsRefNotFound(err)).To(BeTrue(), "%v", err)
		g.Expect(err.Error()).To(ContainSubstring(want))
	}

	// Without a listing, a missing ref is named the same way.
	for ref, want := range map[git.Reference]string{{Branch: "nope"}: "branch 'nope' not found", {Tag: "v9"}: "tag 'v9' not found"} {
		res, err := git.Unresolved(ref)
		g.Expect(err).NotTo(HaveOccurred())
		_, err = git.Clone(context.Background(), u, t.TempDir(), git.CloneOptions{Resolution: res})
		g.Expect(git.IsRefNotFound(err)).To(BeTrue(), "%v", err)
		g.Expect(err.Error()).To(ContainSubstring(want))
	}
	res, err := git.Unresolved(git.Reference{Branch: "dev"})
	g.Expect(err).NotTo(HaveOccurred())
	c, err := git.Clone(context.Background(), u, t.TempDir(), git.CloneOptions{Resolution: res})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c.Revision).To(Equal("dev@sha1:" + dev))

	// Size limit.
	_, err = git.Clone(context.Background(), u, t.TempDir(), git.CloneOptions{MaxBytes: 2, Ref: git.Reference{Branch: "dev"}})
	var sizeErr *git.SizeLimitError
	g.Expect(err).To(BeAssignableToTypeOf(sizeErr))
}

// TestAuthHTTPS covers basic auth and a custom CA on HTTPS, and a wrong
// password becoming an AuthError naming the host.
func TestAuthHTTPS(t *testing.T) {
	g := NewWithT(t)
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{TLS: true, Auth: testserver.BasicAuth{Username: "u", Password: "s3cret"}})
	_, err := srv.CommitFiles("app", "main", map[string]string{"a": "1"}, "c")
	g.Expect(err).NotTo(HaveOccurred())
	u := mustURL(t, srv.URL("app"))

	auth, err := git.AuthFromSecret(u, map[string][]byte{"username": []byte("u"), "password": []byte("s3cret"), "ca.crt": srv.CAPEM()})
	g.Expect(err).NotTo(HaveOccurred())
	refs, err := git.ListRefs(context.Background(), u, auth)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(refs).To(HaveLen(1))

	bad := *auth
	bad.Password = "wrong-password"
	_, err = git.ListRefs(context.Background(), u, &bad)
	g.Expect(git.IsAuthError(err)).To(BeTrue(), "%v", err)
	g.Expect(err.Error()).To(ContainSubstring("127.0.0.1"))
	g.Expect(err.Error()).NotTo(ContainSubstring("wrong-password"))

	noCA := *auth
	noCA.CABundle = nil
	_, err = git.ListRefs(context.Background(), u, &noCA)
	g.Expect(err).To(MatchError(ContainSubstring("certificate")))
	g.Expect(auth.ID()).NotTo(Equal(bad.ID()))
}

// TestSSHAndPush clones over SSH with a key and known_hosts, pushes a
// commit back, and refuses unknown host keys and unknown client keys.
func TestSSHAndPush(t *testing.T) {
	g := NewWithT(t)
	srv := testserver.NewGitSSHForTest(t, testserver.GitSSHOptions{})
	_, err := srv.CommitFiles("app", "main", map[string]string{"a": "1"}, "c")
	g.Expect(err).NotTo(HaveOccurred())
	key, err := srv.NewClientKey()
	g.Expect(err).NotTo(HaveOccurred())
	u := mustURL(t, srv.URL("app"))
	auth, err := git.AuthFromSecret(u, map[string][]byte{"identity": key.PrivateKeyPEM, "known_hosts": []byte(srv.KnownHostsLine())})
	g.Expect(err).NotTo(HaveOccurred())

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	c, err := git.Clone(ctx, u, dir, git.CloneOptions{Auth: auth, Ref: git.Reference{Branch: "main"}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c.Subject()).To(Equal("c"))

	// Commit with the git CLI-free path: write the file and use go-git via
	// a second clone is heavier than needed; push the fetched branch to a
	// new branch instead.
	g.Expect(git.Push(ctx, dir, u, git.PushOptions{Auth: auth, RefSpecs: []string{"refs/heads/main:refs/heads/copy"}})).To(Succeed())
	got, err := srv.Resolve("app", "copy")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(Equal(c.Hash))

	other := testserver.NewGitSSHForTest(t, testserver.GitSSHOptions{})
	wrongHost := *auth
	wrongHost.KnownHosts = []byte(knownhosts.Line([]string{srv.Addr()}, other.HostKey()))
	_, err = git.ListRefs(ctx, u, &wrongHost)
	g.Expect(git.IsAuthError(err)).To(BeTrue(), "%v", err)
	g.Expect(err.Error()).To(ContainSubstring("host key does not match"))

	stranger, err := testserver.GenerateClientKey()
	g.Expect(err).NotTo(HaveOccurred())
	wrongKey := *auth
	wrongKey.Identity = stranger.PrivateKeyPEM
	_, err = git.ListRefs(ctx, u, &wrongKey)
	g.Expect(git.IsAuthError(err)).To(BeTrue(), "%v", err)

	_, err = git.AuthFromSecret(u, map[string][]byte{"identity": key.PrivateKeyPEM})
	g.Expect(err).To(MatchError(ContainSubstring("known_hosts")))
}
