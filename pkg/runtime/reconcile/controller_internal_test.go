package reconcile

import (
	"fmt"
	"testing"
	"time"

	fluxcontroller "github.com/fluxcd/pkg/runtime/controller"
	. "github.com/onsi/gomega"
	ctrl "sigs.k8s.io/controller-runtime"
)

// TestControllerOptions checks what SetupWithManager gives
// controller-runtime: at least one worker, and the failure backoff of
// --min-retry-delay doubling up to --max-retry-delay (Flux's 750ms and
// 15m when unset).
func TestControllerOptions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    ControllerOptions
		workers int
		// delays are the waits before the first retries of one object.
		delays []time.Duration
	}{
		{name: "defaults", opts: ControllerOptions{}, workers: 1,
			delays: []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second}},
		{name: "min-retry-delay 2s", opts: ControllerOptions{Concurrent: 4,
			RateLimiter: fluxcontroller.RateLimiterOptions{MinRetryDelay: 2 * time.Second, MaxRetryDelay: time.Minute}},
			workers: 4, delays: []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second}},
		{name: "capped by max-retry-delay", opts: ControllerOptions{Concurrent: 10,
			RateLimiter: fluxcontroller.RateLimiterOptions{MinRetryDelay: time.Second, MaxRetryDelay: 3 * time.Second}},
			workers: 10, delays: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}},
		{name: "negative concurrency", opts: ControllerOptions{Concurrent: -2}, workers: 1,
			delays: []time.Duration{750 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			o := tc.opts.controllerOptions()
			g.Expect(o.MaxConcurrentReconciles).To(Equal(tc.workers))
			req := ctrl.Request{}
			req.Namespace, req.Name = "ns", "failing"
			for i, want := range tc.delays {
				g.Expect(o.RateLimiter.When(req)).To(Equal(want), fmt.Sprintf("retry %d", i+1))
			}
			// Another object has its own backoff; success resets one.
			other := ctrl.Request{}
			other.Name = "other"
			g.Expect(o.RateLimiter.When(other)).To(Equal(tc.delays[0]))
			o.RateLimiter.Forget(req)
			g.Expect(o.RateLimiter.When(req)).To(Equal(tc.delays[0]))
		})
	}
}
