package testserver

import (
	"net/http"
	"strings"
	"sync"
)

// requestCounter counts requests and response body bytes by method and
// path so tests can prove what a client did on the wire (e.g. a ref
// listing without a fetch, or a fetch stopped early).
type requestCounter struct {
	mu     sync.Mutex
	counts map[string]int   // "METHOD path"
	bytes  map[string]int64 // "METHOD path"
}

// countingWriter adds the bytes written to a response to its counter.
type countingWriter struct {
	http.ResponseWriter
	c   *requestCounter
	key string
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.c.mu.Lock()
	w.c.bytes[w.key] += int64(n)
	w.c.mu.Unlock()
	return n, err
}

// Flush passes flushes on, so streamed responses stay streamed.
func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *requestCounter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		if c.counts == nil {
			c.counts, c.bytes = map[string]int{}, map[string]int64{}
		}
		key := r.Method + " " + r.URL.Path
		c.counts[key]++
		c.mu.Unlock()
		h.ServeHTTP(&countingWriter{ResponseWriter: w, c: c, key: key}, r)
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

// ResponseBytes returns how many response body bytes the server has
// written (that is, the client's connection accepted) for requests with
// method whose URL path ends in suffix, e.g. ResponseBytes("POST",
// "/app/git-upload-pack") for the packfiles of repository app.
func (s *GitHTTP) ResponseBytes(method, suffix string) int64 {
	s.counter.mu.Lock()
	defer s.counter.mu.Unlock()
	var n int64
	for k, v := range s.counter.bytes {
		m, p, _ := strings.Cut(k, " ")
		if m == method && strings.HasSuffix(p, suffix) {
			n += v
		}
	}
	return n
}

// ResetRequestCounts forgets the counted requests and bytes.
func (s *GitHTTP) ResetRequestCounts() {
	s.counter.mu.Lock()
	defer s.counter.mu.Unlock()
	s.counter.counts, s.counter.bytes = nil, nil
}
