// Package apirecord records the calls made to a local REST API server
// (the hosting-service fakes of githubapi and gitlabapi) and writes their
// JSON answers.
package apirecord

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
)

// Request is one recorded API call.
type Request struct {
	Method, Path string
	// Body is the decoded JSON body, nil when there was none.
	Body map[string]any
}

// Recorder keeps every request that went through Wrap.
type Recorder struct {
	mu       sync.Mutex
	requests []Request
}

// Wrap records each request (path as given, body decoded when JSON) and
// passes it on with its body intact.
func (r *Recorder) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rec := Request{Method: req.Method, Path: req.URL.EscapedPath()}
		if req.Body != nil {
			raw, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
			req.Body.Close()
			_ = json.Unmarshal(raw, &rec.Body)
			req.Body = io.NopCloser(bytes.NewReader(raw))
		}
		r.mu.Lock()
		r.requests = append(r.requests, rec)
		r.mu.Unlock()
		next.ServeHTTP(w, req)
	})
}

// Requests returns the calls recorded so far.
func (r *Recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

// Writes returns the recorded calls that were not GETs, as "METHOD path".
func (r *Recorder) Writes() []string {
	var out []string
	for _, req := range r.Requests() {
		if req.Method != http.MethodGet {
			out = append(out, req.Method+" "+req.Path)
		}
	}
	return out
}

// WriteJSON answers code with v as JSON.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
