// Package hostedgit holds what the local hosting-service API servers
// (githubapi, gitlabapi, giteaapi, bitbucketapi) share: the Git servers behind their
// repositories and the bookkeeping of deploy keys, which must stay in step
// with the keys the Git SSH server accepts. Each service's JSON shapes,
// paths and error texts stay in its own package.
package hostedgit

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	"gotk.dev/pkg/testserver"
)

// NewGitServers starts the Git smart-HTTP server (user "git", password
// token) and a Git SSH server over the same repositories; both stop when
// the test ends.
func NewGitServers(t testing.TB, token string) (*testserver.GitHTTP, *testserver.GitSSH) {
	t.Helper()
	return NewGitServersFor(t, "git", token)
}

// NewGitServersFor is NewGitServers for a service whose HTTPS pushes
// authenticate as user (Bitbucket Server takes the account's name).
func NewGitServersFor(t testing.TB, user, token string) (*testserver.GitHTTP, *testserver.GitSSH) {
	t.Helper()
	git := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{Auth: testserver.BasicAuth{Username: user, Password: token}})
	return git, testserver.NewGitSSHForTest(t, testserver.GitSSHOptions{Repos: git.GitRepos})
}

// StartAPI serves h on a local HTTP server that closes when the test ends.
func StartAPI(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// GitPath is the name of the repository owner/name on the Git servers.
func GitPath(owner, name string) string { return owner + "/" + name + ".git" }

// ParseKey parses a public key in authorized_keys form; ok is false when
// text is not one.
func ParseKey(text string) (pub ssh.PublicKey, ok bool) {
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(text))
	return pub, err == nil
}

// AddKey registers a deploy key of a repository: unless one of keys
// already holds the same text (textOf), it appends newKey() to keys,
// lets pub in on the SSH server and returns the new key with true.
// newKey is called only when the key is added, so it may take an id.
func AddKey[K any](srv *testserver.GitSSH, keys *[]K, pub ssh.PublicKey, text string, textOf func(K) string, newKey func() K) (K, bool) {
	for _, k := range *keys {
		if textOf(k) == text {
			var zero K
			return zero, false
		}
	}
	k := newKey()
	*keys = append(*keys, k)
	srv.AuthorizeKey(pub)
	return k, true
}

// RemoveKey removes the deploy key whose id (idOf) is id from keys and
// withdraws it from the SSH server; false when no key has that id.
func RemoveKey[K any](srv *testserver.GitSSH, keys *[]K, id int64, idOf func(K) int64, textOf func(K) string) bool {
	for i, k := range *keys {
		if idOf(k) == id {
			*keys = append((*keys)[:i], (*keys)[i+1:]...)
			if pub, ok := ParseKey(textOf(k)); ok {
				srv.RevokeKey(pub)
			}
			return true
		}
	}
	return false
}

// WithRepo makes a handler that holds mu, finds the request's repository
// with lookup (which answers the request itself when there is none) and
// hands it to fn.
func WithRepo[R any](mu *sync.Mutex, lookup func(http.ResponseWriter, *http.Request) *R, fn func(http.ResponseWriter, *http.Request, *R)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if repo := lookup(w, r); repo != nil {
			fn(w, r, repo)
		}
	}
}

// ListJSON is the JSON array of items, [] rather than null when empty.
func ListJSON[T any](items []T, toJSON func(T) map[string]any) []map[string]any {
	out := []map[string]any{}
	for _, it := range items {
		out = append(out, toJSON(it))
	}
	return out
}
