package testserver

import (
	"net/http"
	"sync/atomic"
)

// outage makes a server look down: while set, every connection is closed
// without an answer, as when the process behind the address has died.
type outage struct{ down atomic.Bool }

func (o *outage) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.down.Load() {
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			http.Error(w, "server down", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// SetDown takes the Git server down (true) or brings it back (false).
func (s *GitHTTP) SetDown(down bool) { s.outage.down.Store(down) }

// SetDown takes the registry down (true) or brings it back (false).
func (r *Registry) SetDown(down bool) { r.outage.down.Store(down) }
