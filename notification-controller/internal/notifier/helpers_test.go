package notifier

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// newSlowServer answers only when block is closed, to exercise timeouts.
func newSlowServer(t *testing.T, block chan struct{}) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
