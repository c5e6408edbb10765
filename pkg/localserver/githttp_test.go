package localserver

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGitHTTPServesSeededDirectory is what `gotk dev` does with --repo: a
// directory imported into a repository under a state directory, served
// over smart HTTP, cloned by the git CLI; after Close the state directory
// keeps the repository and a new server serves the same history.
func TestGitHTTPServesSeededDirectory(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "base", "kustomization.yaml"), "resources: []\n")
	state := t.TempDir()

	repos, err := NewGitRepos(state)
	if err != nil {
		t.Fatal(err)
	}
	seeded, err := repos.InitRepoFromDir("demo", src, "main")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewGitHTTP(GitHTTPOptions{Repos: repos, Auth: BasicAuth{Username: "u", Password: "p"}})
	if err != nil {
		t.Fatal(err)
	}
	authURL := strings.Replace(srv.URL("demo"), "http://", "http://u:p@", 1)
	work := t.TempDir()
	if out, err := gitCLI(work, "clone", "--quiet", authURL, "w"); err != nil {
		t.Fatalf("clone: %v\n%s", err, out)
	}
	if got, err := os.ReadFile(filepath.Join(work, "w", "base", "kustomization.yaml")); err != nil || string(got) != "resources: []\n" {
		t.Fatalf("cloned file = %q, %v", got, err)
	}
	if out, err := gitCLI(work, "ls-remote", srv.URL("demo")); err == nil {
		t.Fatalf("clone without credentials succeeded:\n%s", out)
	}
	srv.Close()
	if out, err := gitCLI(work, "ls-remote", authURL); err == nil {
		t.Fatalf("closed server still answers:\n%s", out)
	}

	// A later run over the same state directory serves the same commit.
	again, err := NewGitRepos(state)
	if err != nil {
		t.Fatal(err)
	}
	srv, err = NewGitHTTP(GitHTTPOptions{Repos: again})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	out, err := gitCLI(work, "ls-remote", srv.URL("demo"), "refs/heads/main")
	if err != nil {
		t.Fatalf("ls-remote: %v\n%s", err, out)
	}
	if got := strings.Fields(string(out)); len(got) == 0 || got[0] != seeded {
		t.Fatalf("main after restart = %q, want %s", out, seeded)
	}
}

// TestStartHTTPTLS: the client of a TLS server trusts its certificate;
// a client without its CA does not.
func TestStartHTTPTLS(t *testing.T) {
	srv, err := StartHTTP(RequireBasicAuth(http.NotFoundHandler(), BasicAuth{Username: "u", Password: "p"}, "x"), true)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "https://127.0.0.1:") || len(srv.CAPEM) == 0 {
		t.Fatalf("URL %s, CA %d bytes", srv.URL, len(srv.CAPEM))
	}
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401 without credentials", resp.StatusCode)
	}
	if _, err := (&http.Client{Transport: &http.Transport{}}).Get(srv.URL); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusting client: err = %v, want a certificate error", err)
	}
}

func gitCLI(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env = dir, GitEnv()
	return cmd.CombinedOutput()
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
