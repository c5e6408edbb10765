package controller

import (
	"net/http"
	"strings"
	"sync/atomic"
)

// requestCounter counts the controller's API requests by kind.
type requestCounter struct {
	total, writes, dryRuns atomic.Int64
}

var apiRequests requestCounter

func (c *requestCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		c.total.Add(1)
		switch req.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			if strings.Contains(req.URL.RawQuery, "dryRun=") {
				c.dryRuns.Add(1)
			} else {
				c.writes.Add(1)
			}
		}
		return rt.RoundTrip(req)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// snapshot returns the counters.
func (c *requestCounter) snapshot() (total, writes, dryRuns int64) {
	return c.total.Load(), c.writes.Load(), c.dryRuns.Load()
}
