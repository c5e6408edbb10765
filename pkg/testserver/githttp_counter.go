package testserver

import (
	"net/http"
	"strings"
	"sync"
)

// requestCounter counts requests by method and path so tests can prove
// what a client did on the wire (e.g. a ref listing without a fetch).
type requestCounter struct {
	mu     sync.Mutex
	counts map[string]int // "METHOD path"
}

func (c *requestCounter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		if c.counts == nil {
			c.counts = map[string]int{}
		}
		c.counts[r.Method+" "+r.URL.Path]++
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// RequestCount returns how many requests with method whose URL path ends
// in suffix the server has received (authorised or not). For example
// RequestCount("POST", "/app/git-upload-pack") counts fetches of
// repository app, and RequestCount("GET", "/app/info/refs") ref listings.
func (s *GitHTTP) RequestCount(method, suffix string) int {
	s.counter.mu.Lock()
	defer s.counter.mu.Unlock()
	n := 0
	for k, v := range s.counter.counts {
		m, p, _ := strings.Cut(k, " ")
		if m == method && strings.HasSuffix(p, suffix) {
			n += v
		}
	}
	return n
}

// ResetRequestCounts forgets the counted requests.
func (s *GitHTTP) ResetRequestCounts() {
	s.counter.mu.Lock()
	defer s.counter.mu.Unlock()
	s.counter.counts = nil
}
