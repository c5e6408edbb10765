package localserver

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// GitHTTPOptions configures a GitHTTP server.
type GitHTTPOptions struct {
	// Auth, when set, requires these basic-auth credentials on every request.
	Auth BasicAuth
	// TLS serves HTTPS with a certificate from a freshly generated CA; see
	// GitHTTP.CAPEM.
	TLS bool
	// Repos shares an existing repository root (for example with a Git
	// server over SSH). When nil the server gets its own temporary root.
	Repos *GitRepos
	// Wrap, when set, wraps the server's handler outside authentication
	// (e.g. to count or refuse requests).
	Wrap func(http.Handler) http.Handler
}

// GitHTTP serves the bare repositories of a GitRepos over Git smart HTTP
// using the git CLI's own server, `git http-backend`, behind net/http/cgi.
// Fetch and push are both enabled. The embedded GitRepos provides
// CreateRepo, CommitFiles, InitRepoFromDir, Tag and friends.
type GitHTTP struct {
	*GitRepos
	srv       *HTTPServer
	ownsRepos bool
}

// NewGitHTTP starts a Git smart-HTTP server on 127.0.0.1 at a random port.
func NewGitHTTP(opts GitHTTPOptions) (*GitHTTP, error) {
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return nil, fmt.Errorf("locating git exec path: %w", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	s := &GitHTTP{GitRepos: opts.Repos}
	if s.GitRepos == nil {
		if s.GitRepos, err = NewGitRepos(""); err != nil {
			return nil, err
		}
		s.ownsRepos = true
	}
	env := []string{
		"GIT_PROJECT_ROOT=" + s.Root(),
		"GIT_HTTP_EXPORT_ALL=1",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cgiEnv := env
		if u, _, ok := r.BasicAuth(); ok && opts.Auth.Enabled() {
			// http-backend only allows receive-pack for authenticated users
			// unless http.receivepack is set; CreateRepo sets it anyway.
			cgiEnv = append(append([]string(nil), env...), "REMOTE_USER="+u)
		}
		if len(r.TransferEncoding) > 0 {
			// net/http/cgi refuses chunked bodies (the git CLI sends them
			// for pushes larger than http.postBuffer): spool to a file.
			spooled, cleanup, err := spoolBody(r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			defer cleanup()
			r = spooled
		}
		ch := &cgi.Handler{Path: backend, Env: cgiEnv, Dir: s.Root()}
		ch.ServeHTTP(w, r)
	})
	handler := RequireBasicAuth(h, opts.Auth, "git")
	if opts.Wrap != nil {
		handler = opts.Wrap(handler)
	}
	if s.srv, err = StartHTTP(handler, opts.TLS); err != nil {
		s.closeRepos()
		return nil, err
	}
	return s, nil
}

// URL returns the clone URL of repository repo, e.g.
// http://127.0.0.1:34567/podinfo.
func (s *GitHTTP) URL(repo string) string {
	return s.srv.URL + "/" + strings.TrimPrefix(repo, "/")
}

// BaseURL returns the server's root URL (http:// or https://).
func (s *GitHTTP) BaseURL() string { return s.srv.URL }

// CAPEM returns the PEM certificate of the CA that signed the server's
// certificate, or nil when TLS is off.
func (s *GitHTTP) CAPEM() []byte { return s.srv.CAPEM }

// Client returns an HTTP client that trusts the server's certificate.
func (s *GitHTTP) Client() *http.Client { return s.srv.Client() }

// Close stops the server and removes its repositories unless they were
// passed in through GitHTTPOptions.Repos.
func (s *GitHTTP) Close() {
	s.srv.Close()
	s.closeRepos()
}

// spoolBody copies r's body to a temporary file and returns a request that
// reads it with a known Content-Length, plus a cleanup func.
func spoolBody(r *http.Request) (*http.Request, func(), error) {
	f, err := os.CreateTemp("", "gotk-git-body-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { f.Close(); os.Remove(f.Name()) }
	n, err := io.Copy(f, r.Body)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	r2 := r.Clone(r.Context())
	r2.Body, r2.ContentLength, r2.TransferEncoding = io.NopCloser(f), n, nil
	return r2, cleanup, nil
}

func (s *GitHTTP) closeRepos() {
	if s.ownsRepos {
		s.GitRepos.Close()
	}
}
