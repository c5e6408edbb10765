package testserver

import (
	"net/http"
	"testing"

	"gotk.dev/pkg/localserver"
)

// GitHTTPOptions configures a GitHTTP server.
type GitHTTPOptions = localserver.GitHTTPOptions

// GitHTTP is localserver.GitHTTP (Git smart HTTP over `git http-backend`,
// with the repositories' helpers) plus request counts and SetDown.
type GitHTTP struct {
	*localserver.GitHTTP
	counter requestCounter
	outage  outage
}

// NewGitHTTP starts a Git smart-HTTP server on 127.0.0.1 at a random port.
func NewGitHTTP(opts GitHTTPOptions) (*GitHTTP, error) {
	s := &GitHTTP{}
	inner := opts.Wrap
	opts.Wrap = func(h http.Handler) http.Handler {
		if inner != nil {
			h = inner(h)
		}
		return s.outage.wrap(s.counter.wrap(h))
	}
	srv, err := localserver.NewGitHTTP(opts)
	if err != nil {
		return nil, err
	}
	s.GitHTTP = srv
	return s, nil
}

// NewGitHTTPForTest is NewGitHTTP that fails t on error and closes the
// server in t.Cleanup.
func NewGitHTTPForTest(t testing.TB, opts GitHTTPOptions) *GitHTTP {
	t.Helper()
	s, err := NewGitHTTP(opts)
	return forTest(t, s, err)
}
