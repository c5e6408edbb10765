package testserver

import (
	"net/http/httptest"
	"net/http/httputil"
	"sync"
	"testing"
)

// ForwardProxy is a plain HTTP forward proxy that sends every request,
// whatever host it names, to one local server: a client configured with
// it reaches a registry under a cloud's host name (e.g. an ECR host).
type ForwardProxy struct {
	// URL is the proxy's address, http://127.0.0.1:port.
	URL string

	mu    sync.Mutex
	hosts map[string]bool
}

// NewForwardProxyForTest starts a ForwardProxy to targetHost (host:port,
// plain HTTP), closed in t.Cleanup.
func NewForwardProxyForTest(t testing.TB, targetHost string) *ForwardProxy {
	t.Helper()
	p := &ForwardProxy{hosts: map[string]bool{}}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		p.mu.Lock()
		p.hosts[r.In.Host] = true
		p.mu.Unlock()
		r.Out.URL.Scheme, r.Out.URL.Host = "http", targetHost
		r.Out.Host = r.In.Host
	}}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// Proxied reports whether a request for host went through the proxy.
func (p *ForwardProxy) Proxied(host string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hosts[host]
}
