package testenv

import (
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// RequestCounter counts a client's Kubernetes API requests by kind, for
// benchmarks that report what a controller asked of the API server. Wrap
// the controller's rest.Config with it: cfg.Wrap(counter.Wrap).
type RequestCounter struct {
	total, writes, dryRuns atomic.Int64
}

// Wrap counts every request through rt: writes are POST, PUT, PATCH and
// DELETE, apart from server-side dry runs, which are counted on their own.
func (c *RequestCounter) Wrap(rt http.RoundTripper) http.RoundTripper {
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

// Snapshot returns the counters so far.
func (c *RequestCounter) Snapshot() (total, writes, dryRuns int64) {
	return c.total.Load(), c.writes.Load(), c.dryRuns.Load()
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Sizes parses a benchmark's comma-separated size flag (e.g. -ks=100,1000)
// and fails the benchmark on anything but positive numbers.
func Sizes(b testing.TB, name, value string) []int {
	b.Helper()
	var out []int
	for _, f := range strings.Split(value, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("-%s=%s: want comma-separated positive numbers", name, value)
		}
		out = append(out, n)
	}
	return out
}

// CPUSeconds is the user plus system CPU time this process has used so
// far (0 where getrusage fails); a benchmark reports the difference over
// the work it measures.
func CPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
