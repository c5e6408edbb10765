package git_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"

	. "github.com/onsi/gomega"

	"gotk.dev/pkg/git"
	"gotk.dev/pkg/testserver"
)

// TestBearerToken fetches through a front that admits only a bearer
// token, as Git hosts taking OAuth tokens do.
func TestBearerToken(t *testing.T) {
	g := NewWithT(t)
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	_, err := srv.CommitFiles("app", "master", map[string]string{"a": "1"}, "c")
	g.Expect(err).NotTo(HaveOccurred())
	backend, err := url.Parse(srv.BaseURL())
	g.Expect(err).NotTo(HaveOccurred())
	proxy := httputil.NewSingleHostReverseProxy(backend)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t0ken" {
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	u := mustURL(t, front.URL+"/app")

	auth, err := git.AuthFromSecret(u, map[string][]byte{"bearerToken": []byte("t0ken")})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = git.Clone(context.Background(), u, t.TempDir(), git.CloneOptions{Auth: auth})
	g.Expect(err).NotTo(HaveOccurred())

	_, err = git.ListRefs(context.Background(), u, &git.Auth{BearerToken: "wrong"})
	g.Expect(git.IsAuthError(err)).To(BeTrue(), "%v", err)
}

// TestProxy fetches through an HTTP forward proxy that requires its own
// credentials, taken from proxy Secret data.
func TestProxy(t *testing.T) {
	g := NewWithT(t)
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	_, err := srv.CommitFiles("app", "master", map[string]string{"a": "1"}, "c")
	g.Expect(err).NotTo(HaveOccurred())
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := parseProxyAuth(r); !ok || u != "proxy-user" || p != "proxy-pass" {
			w.Header().Set("Proxy-Authenticate", "Basic")
			http.Error(w, "proxy auth", http.StatusProxyAuthRequired)
			return
		}
		proxied.Add(1)
		out, err := http.NewRequestWithContext(r.Context(), r.Method, r.URL.String(), r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out.Header = r.Header.Clone()
		out.Header.Del("Proxy-Authorization")
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	defer proxy.Close()

	u := mustURL(t, srv.URL("app"))
	auth := &git.Auth{}
	g.Expect(auth.ProxyFromSecret(map[string][]byte{"address": []byte(proxy.URL), "username": []byte("proxy-user"), "password": []byte("proxy-pass")})).To(Succeed())
	_, err = git.Clone(context.Background(), u, t.TempDir(), git.CloneOptions{Auth: auth})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(proxied.Load()).To(BeNumerically(">=", 2))
	g.Expect(auth.ID()).NotTo(Equal((&git.Auth{}).ID()))
	g.Expect(auth.ProxyFromSecret(map[string][]byte{})).To(MatchError(ContainSubstring("address")))
}

func parseProxyAuth(r *http.Request) (string, string, bool) {
	h := r.Header.Get("Proxy-Authorization")
	if h == "" {
		return "", "", false
	}
	fake := &http.Request{Header: http.Header{"Authorization": {h}}}
	return fake.BasicAuth()
}
