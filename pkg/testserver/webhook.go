package testserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"gotk.dev/pkg/localserver"
)

// RecordedRequest is one request received by a WebhookSink.
type RecordedRequest struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
	Received time.Time
}

// JSON decodes the body into v.
func (r RecordedRequest) JSON(v any) error { return json.Unmarshal(r.Body, v) }

// WebhookSink is an HTTP server on 127.0.0.1 that records every request
// (any method, any path) and answers with a configurable status. It stands
// in for Slack, Discord, Teams or generic webhook endpoints.
type WebhookSink struct {
	srv *localserver.HTTPServer

	mu       sync.Mutex
	reqs     []RecordedRequest
	status   int
	response []byte
	changed  chan struct{} // closed and replaced on every new request
}

// NewWebhookSink starts a sink answering 200 OK on 127.0.0.1 at a random
// port.
func NewWebhookSink() (*WebhookSink, error) {
	s := &WebhookSink{status: http.StatusOK, response: []byte("ok"), changed: make(chan struct{})}
	var err error
	if s.srv, err = localserver.StartHTTP(http.HandlerFunc(s.record), false); err != nil {
		return nil, err
	}
	return s, nil
}

// NewWebhookSinkForTest is NewWebhookSink that fails t on error and closes
// the sink in t.Cleanup.
func NewWebhookSinkForTest(t testing.TB) *WebhookSink {
	t.Helper()
	s, err := NewWebhookSink()
	return forTest(t, s, err)
}

// URL returns the sink's base URL; any path below it is recorded too.
func (s *WebhookSink) URL() string { return s.srv.URL }

// SetStatus sets the status code (and body) of later responses, e.g. 500
// to exercise retries.
func (s *WebhookSink) SetStatus(code int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.response = code, []byte(body)
}

// Requests returns a snapshot of the requests recorded so far, oldest
// first.
func (s *WebhookSink) Requests() []RecordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RecordedRequest(nil), s.reqs...)
}

// Reset forgets the recorded requests.
func (s *WebhookSink) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = nil
}

// Wait blocks until at least n requests have been recorded or ctx is done,
// and returns the snapshot at that point. It wakes on every request, it
// does not sleep.
func (s *WebhookSink) Wait(ctx context.Context, n int) ([]RecordedRequest, error) {
	for {
		s.mu.Lock()
		got, changed := len(s.reqs), s.changed
		if got >= n {
			reqs := append([]RecordedRequest(nil), s.reqs...)
			s.mu.Unlock()
			return reqs, nil
		}
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return s.Requests(), fmt.Errorf("webhook sink: got %d requests, want %d: %w", got, n, ctx.Err())
		}
	}
}

// WaitFor is Wait with a timeout that fails t when fewer than n requests
// arrive in time.
func (s *WebhookSink) WaitFor(t testing.TB, n int, timeout time.Duration) []RecordedRequest {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	reqs, err := s.Wait(ctx, n)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return reqs
}

// Close stops the sink.
func (s *WebhookSink) Close() { s.srv.Close() }

func (s *WebhookSink) record(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, RecordedRequest{
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Header:   r.Header.Clone(),
		Body:     body,
		Received: time.Now(),
	})
	close(s.changed)
	s.changed = make(chan struct{})
	status, resp := s.status, s.response
	s.mu.Unlock()
	w.WriteHeader(status)
	_, _ = w.Write(resp)
}
