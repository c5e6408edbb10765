package git_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"gotk.dev/pkg/git"
	"gotk.dev/pkg/testserver"
)

// randomText returns n incompressible bytes, so a packfile is as large as
// its content.
func randomText(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCloneStopsAtSizeLimit: a fetch of a repository larger than MaxBytes
// fails with the limit named, and the server has sent not much more than
// the limit when the client hangs up (counted on the server side).
func TestCloneStopsAtSizeLimit(t *testing.T) {
	const content, limit = 32 << 20, 1 << 20
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	_, err := srv.CommitFiles("big", "master", map[string]string{"blob.bin": randomText(t, content)}, "big")
	if err != nil {
		t.Fatal(err)
	}
	u := mustURL(t, srv.URL("big"))

	cases := []struct {
		name string
		ref  git.Reference
	}{
		{"branch", git.Reference{Branch: "master"}},
		{"default", git.Reference{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := NewWithT(t)
			srv.ResetRequestCounts()
			_, err := git.Clone(context.Background(), u, t.TempDir(), git.CloneOptions{Ref: c.ref, MaxBytes: limit})
			var size *git.SizeLimitError
			g.Expect(errors.As(err, &size)).To(BeTrue(), "err = %v", err)
			g.Expect(size.Fetch).To(BeTrue())
			g.Expect(err.Error()).To(ContainSubstring(fmt.Sprint(limit)))
			sent := srv.ResponseBytes("POST", "/big/git-upload-pack")
			t.Logf("server sent %d bytes of a %d-byte repository for a limit of %d", sent, content, limit)
			// What is in flight when the client stops reading (socket
			// buffers on both ends) is the only excess allowed.
			g.Expect(sent).To(BeNumerically("<", limit+4<<20))
		})
	}

	// Within the limit the same repository clones.
	g := NewWithT(t)
	dir := t.TempDir()
	_, err = git.Clone(context.Background(), u, dir, git.CloneOptions{MaxBytes: 2 * content})
	g.Expect(err).NotTo(HaveOccurred())
	info, err := os.Stat(filepath.Join(dir, "blob.bin"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(info.Size()).To(BeNumerically("==", content))
}

// TestCloneCommitFetchesOnlyThatCommit: a commit reference of a repository
// with many branches and tags downloads that commit's objects only, by
// hash at depth 1; a server that refuses fetches by hash gets the full
// fetch and the same checkout.
func TestCloneCommitFetchesOnlyThatCommit(t *testing.T) {
	const branches, fileSize = 12, 256 << 10
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	first, err := srv.CommitFiles("many", "master", map[string]string{"a.txt": "first"}, "first")
	if err != nil {
		t.Fatal(err)
	}
	for i := range branches {
		b := fmt.Sprintf("b%d", i)
		c, err := srv.CommitFiles("many", b, map[string]string{"blob.bin": randomText(t, fileSize)}, b)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Tag("many", "v"+b, c); err != nil {
			t.Fatal(err)
		}
	}
	u := mustURL(t, srv.URL("many"))
	repoPath, err := srv.Path("many")
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name      string
		allowHash bool
		maxBytes  int64
	}{
		{"by hash", true, fileSize},
		{"server refuses hashes", false, branches * fileSize * 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := NewWithT(t)
			for _, key := range []string{"uploadpack.allowReachableSHA1InWant", "uploadpack.allowTipSHA1InWant"} {
				out, err := exec.Command("git", "--git-dir", repoPath, "config", key, fmt.Sprint(c.allowHash)).CombinedOutput()
				g.Expect(err).NotTo(HaveOccurred(), string(out))
			}
			srv.ResetRequestCounts()
			dir := t.TempDir()
			got, err := git.Clone(context.Background(), u, dir, git.CloneOptions{Ref: git.Reference{Commit: first}})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got.Revision).To(Equal("sha1:" + first))
			data, err := os.ReadFile(filepath.Join(dir, "a.txt"))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(data)).To(Equal("first"))
			sent := srv.ResponseBytes("POST", "/many/git-upload-pack")
			t.Logf("server sent %d bytes for a commit of a repository of %d branches of %d bytes", sent, branches, fileSize)
			if c.allowHash {
				g.Expect(sent).To(BeNumerically("<", c.maxBytes))
			} else {
				g.Expect(sent).To(BeNumerically(">", branches*fileSize))
			}
		})
	}

	// A commit the server does not have is named, by hash or not.
	_, err = git.Clone(context.Background(), u, t.TempDir(), git.CloneOptions{Ref: git.Reference{Commit: strings.Repeat("cd", 20)}})
	if !git.IsRefNotFound(err) {
		t.Fatalf("missing commit: err = %v, want ref not found", err)
	}
}

// TestClonePackIndexWithDeltas: a branch with history (similar versions of
// a file, which the server sends as deltas) is indexed by the checkout's
// own pack indexer into a repository the git CLI finds sound.
func TestClonePackIndexWithDeltas(t *testing.T) {
	g := NewWithT(t)
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	var first, last string
	text := strings.Repeat("a line of configuration that changes little\n", 2000)
	for i := range 20 {
		c, err := srv.CommitFiles("hist", "master", map[string]string{"conf.txt": fmt.Sprintf("%sversion %d\n", text, i)}, fmt.Sprint(i))
		g.Expect(err).NotTo(HaveOccurred())
		if i == 0 {
			first = c
		}
		last = c
	}
	dir := t.TempDir()
	// A commit with its branch fetches the branch's whole history.
	got, err := git.Clone(context.Background(), mustURL(t, srv.URL("hist")), dir, git.CloneOptions{Ref: git.Reference{Branch: "master", Commit: first}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got.Hash).To(Equal(first))
	data, err := os.ReadFile(filepath.Join(dir, "conf.txt"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(data)).To(HaveSuffix("version 0\n"))

	out, err := exec.Command("git", "--git-dir", filepath.Join(dir, ".git"), "fsck", "--full", "--strict").CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))
	out, err = exec.Command("git", "--git-dir", filepath.Join(dir, ".git"), "cat-file", "-p", last+":conf.txt").CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))
	g.Expect(string(out)).To(HaveSuffix("version 19\n"))
	packs, err := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.idx"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(packs).To(HaveLen(1))
	out, err = exec.Command("git", "verify-pack", "-v", packs[0]).CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))
	g.Expect(string(out)).To(ContainSubstring("chain length = "), "the pack should hold deltas:\n%s", out)
}
