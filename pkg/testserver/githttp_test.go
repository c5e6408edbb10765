package testserver

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-billy/v5/memfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"

	"gotk.dev/pkg/localserver"
)

// clone clones url's main branch into memory.
func clone(t *testing.T, url string, auth transport.AuthMethod, caBundle []byte) (*git.Repository, error) {
	t.Helper()
	return git.Clone(memory.NewStorage(), memfs.New(), &git.CloneOptions{
		URL:           url,
		Auth:          auth,
		CABundle:      caBundle,
		ReferenceName: plumbing.NewBranchReferenceName("main"),
	})
}

// readFile reads path from the worktree of r.
func readFile(t *testing.T, r *git.Repository, path string) string {
	t.Helper()
	wt, err := r.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	f, err := wt.Filesystem.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// commitAndPush writes path=content in r's worktree, commits and pushes
// main, returning the new commit hash.
func commitAndPush(t *testing.T, r *git.Repository, auth transport.AuthMethod, caBundle []byte, path, content string) string {
	t.Helper()
	wt, err := r.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	f, err := wt.Filesystem.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := wt.Add(path); err != nil {
		t.Fatal(err)
	}
	h, err := wt.Commit("change "+path, &git.CommitOptions{
		Author: &object.Signature{Name: "tester", Email: "t@example.com", When: time.Now()},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Push(&git.PushOptions{Auth: auth, CABundle: caBundle}); err != nil {
		t.Fatalf("push: %v", err)
	}
	return h.String()
}

func TestGitHTTPCloneAndPush(t *testing.T) {
	s := NewGitHTTPForTest(t, GitHTTPOptions{})
	sha, err := s.CommitFiles("app", "main", map[string]string{"README.md": "hello\n", "deploy/cm.yaml": "kind: ConfigMap\n"}, "init")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag("app", "v1.0.0", sha); err != nil {
		t.Fatal(err)
	}
	r, err := clone(t, s.URL("app"), nil, nil)
	if err != nil {
		t.Fatalf("clone: %v", err)
	}
	head, _ := r.Head()
	if head.Hash().String() != sha {
		t.Fatalf("HEAD = %s, want %s", head.Hash(), sha)
	}
	if got := readFile(t, r, "deploy/cm.yaml"); got != "kind: ConfigMap\n" {
		t.Fatalf("deploy/cm.yaml = %q", got)
	}
	tag, err := r.Tag("v1.0.0")
	if err != nil || tag.Hash().String() != sha {
		t.Fatalf("tag v1.0.0 = %v, %v; want %s", tag, err, sha)
	}

	pushed := commitAndPush(t, r, nil, nil, "new.txt", "pushed\n")
	if got, err := s.Resolve("app", "main"); err != nil || got != pushed {
		t.Fatalf("server main = %s, %v; want %s", got, err, pushed)
	}

	// A server-side commit on top of the pushed one keeps existing files.
	next, err := s.CommitFiles("app", "main", map[string]string{"README.md": "v2\n"}, "second")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := clone(t, s.URL("app"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	head, _ = r2.Head()
	if head.Hash().String() != next || readFile(t, r2, "new.txt") != "pushed\n" || readFile(t, r2, "README.md") != "v2\n" {
		t.Fatalf("unexpected state after server commit at %s", head.Hash())
	}
}

func TestGitHTTPBasicAuth(t *testing.T) {
	s := NewGitHTTPForTest(t, GitHTTPOptions{Auth: BasicAuth{Username: "git", Password: "s3cret"}})
	if _, err := s.CommitFiles("private", "main", map[string]string{"a.txt": "a"}, "init"); err != nil {
		t.Fatal(err)
	}
	if _, err := clone(t, s.URL("private"), nil, nil); !errors.Is(err, transport.ErrAuthenticationRequired) {
		t.Fatalf("anonymous clone: err = %v, want ErrAuthenticationRequired", err)
	}
	wrong := &githttp.BasicAuth{Username: "git", Password: "nope"}
	if _, err := clone(t, s.URL("private"), wrong, nil); err == nil {
		t.Fatal("clone with wrong password succeeded")
	}
	good := &githttp.BasicAuth{Username: "git", Password: "s3cret"}
	r, err := clone(t, s.URL("private"), good, nil)
	if err != nil {
		t.Fatalf("clone: %v", err)
	}
	pushed := commitAndPush(t, r, good, nil, "b.txt", "b")
	if got, _ := s.Resolve("private", "main"); got != pushed {
		t.Fatalf("server main = %s, want %s", got, pushed)
	}
	// Pushing with the wrong password is refused too.
	if err := r.Push(&git.PushOptions{Auth: wrong}); err == nil || errors.Is(err, git.NoErrAlreadyUpToDate) {
		t.Fatalf("push with wrong password: err = %v", err)
	}
}

func TestGitHTTPTLS(t *testing.T) {
	s := NewGitHTTPForTest(t, GitHTTPOptions{TLS: true, Auth: BasicAuth{Username: "u", Password: "p"}})
	if len(s.CAPEM()) == 0 {
		t.Fatal("no CA PEM")
	}
	if _, err := s.CommitFiles("tls", "main", map[string]string{"x": "y"}, "init"); err != nil {
		t.Fatal(err)
	}
	auth := &githttp.BasicAuth{Username: "u", Password: "p"}
	if _, err := clone(t, s.URL("tls"), auth, nil); err == nil {
		t.Fatal("clone without the CA succeeded")
	}
	r, err := clone(t, s.URL("tls"), auth, s.CAPEM())
	if err != nil {
		t.Fatalf("clone with CA: %v", err)
	}
	commitAndPush(t, r, auth, s.CAPEM(), "z", "z")
}

func TestInitRepoFromDir(t *testing.T) {
	s := NewGitHTTPForTest(t, GitHTTPOptions{})
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "kustomization.yaml"), "resources: [cm.yaml]\n", 0o644)
	mustWrite(t, filepath.Join(dir, "apps", "cm.yaml"), "kind: ConfigMap\n", 0o644)
	mustWrite(t, filepath.Join(dir, "run.sh"), "#!/bin/sh\n", 0o755)
	sha, err := s.InitRepoFromDir("fleet", dir, "main")
	if err != nil {
		t.Fatal(err)
	}
	r, err := clone(t, s.URL("fleet"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.CommitObject(plumbing.NewHash(sha))
	if err != nil {
		t.Fatal(err)
	}
	f, err := c.File("run.sh")
	if err != nil || f.Mode.String() != "0100755" {
		t.Fatalf("run.sh: %v mode %v", err, f)
	}
	if readFile(t, r, "apps/cm.yaml") != "kind: ConfigMap\n" {
		t.Fatal("apps/cm.yaml content")
	}

	// Re-importing a smaller tree removes the files that are gone.
	if err := os.Remove(filepath.Join(dir, "run.sh")); err != nil {
		t.Fatal(err)
	}
	sha2, err := s.InitRepoFromDir("fleet", dir, "main")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := clone(t, s.URL("fleet"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c3, err := r2.CommitObject(plumbing.NewHash(sha2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c3.File("run.sh"); !errors.Is(err, object.ErrFileNotFound) {
		t.Fatalf("run.sh still present: %v", err)
	}
	if len(c3.ParentHashes) != 1 || c3.ParentHashes[0].String() != sha {
		t.Fatalf("parents = %v, want [%s]", c3.ParentHashes, sha)
	}
	sha3, err := s.DeleteFiles("fleet", "main", []string{"apps/cm.yaml"}, "prune")
	if err != nil || sha3 == sha2 {
		t.Fatalf("DeleteFiles: %s %v", sha3, err)
	}
}

func mustWrite(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// TestGitHTTPGitCLIPush pushes with the git CLI a pack larger than its
// http.postBuffer, which git sends with a chunked request body.
func TestGitHTTPGitCLIPush(t *testing.T) {
	s := NewGitHTTPForTest(t, GitHTTPOptions{Auth: BasicAuth{Username: "u", Password: "p"}})
	if _, err := s.CommitFiles("big", "main", map[string]string{"a": "a"}, "init"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = dir, localserver.GitEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	authURL := strings.Replace(s.URL("big"), "http://", "http://u:p@", 1)
	git("clone", "--quiet", authURL, "w")
	blob := make([]byte, 2<<20)
	if _, err := rand.Read(blob); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dir, "w", "blob.bin"), string(blob), 0o644)
	git("-C", "w", "add", ".")
	git("-C", "w", "commit", "--quiet", "-m", "big")
	git("-C", "w", "push", "--quiet", "origin", "main")
	cmd := exec.Command("git", "-C", "w", "rev-parse", "HEAD")
	cmd.Dir, cmd.Env = dir, localserver.GitEnv()
	out, _ := cmd.Output()
	if got, _ := s.Resolve("big", "main"); got != strings.TrimSpace(string(out)) {
		t.Fatalf("server main = %s, local HEAD = %s", got, out)
	}
}

// TestGitHTTPDown: a server taken down answers nothing; brought back, it
// serves again.
func TestGitHTTPDown(t *testing.T) {
	srv := NewGitHTTPForTest(t, GitHTTPOptions{})
	if _, err := srv.CommitFiles("app", "main", map[string]string{"a": "a"}, "init"); err != nil {
		t.Fatal(err)
	}
	get := func() error {
		resp, err := http.Get(srv.URL("app") + "/info/refs?service=git-upload-pack")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	srv.SetDown(true)
	if err := get(); err == nil {
		t.Fatal("a down server answered")
	}
	srv.SetDown(false)
	if err := get(); err != nil {
		t.Fatalf("back up: %v", err)
	}
}
