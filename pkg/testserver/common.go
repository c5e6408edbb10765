// Package testserver provides real protocol servers on loopback for tests:
// Git over smart HTTP (git http-backend) and SSH, an OCI registry, a Helm
// chart repository, an S3 store, a tarball artifact server and a webhook
// sink that records requests.
//
// Every server listens on 127.0.0.1 with a random port. Each has a
// constructor returning (*Server, error) with a Close method and a thin
// NewXForTest(t) wrapper that fails the test on error and registers Close
// with t.Cleanup.
//
// Only tests import it (it imports package testing and an S3 fake). The
// Git server and repositories that shipped commands use live in
// gotk.dev/pkg/localserver; the names here re-export them, and GitHTTP
// adds what only tests need (request counts, a simulated outage).
package testserver

import (
	"testing"

	"gotk.dev/pkg/localserver"
)

// BasicAuth is a username/password pair. A zero BasicAuth disables
// authentication.
type BasicAuth = localserver.BasicAuth

// GitRepos is a directory of bare Git repositories (see localserver.GitRepos).
type GitRepos = localserver.GitRepos

// NewGitRepos is localserver.NewGitRepos.
func NewGitRepos(dir string) (*GitRepos, error) { return localserver.NewGitRepos(dir) }

// forTest fails t when err is set and registers closer with t.Cleanup.
func forTest[T interface{ Close() }](t testing.TB, s T, err error) T {
	t.Helper()
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}
