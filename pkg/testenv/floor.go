package testenv

import (
	"context"
	"errors"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// FloorWorkers is how many goroutines ApplyFloor sends applies from.
const FloorWorkers = 64

// ApplyFloor sends one server-side apply per object from FloorWorkers
// goroutines, with no controller involved, and returns how long the API
// server took: the floor under any controller that must apply the same
// objects. Benchmarks measure it in the same run as the controller, so
// both see the same machine load. The client is unthrottled.
func ApplyFloor(ctx context.Context, cfg *rest.Config, c client.Options, objs []*unstructured.Unstructured, fieldManager string) (time.Duration, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, 0 // no client-side rate limit
	cl, err := client.New(cfg, c)
	if err != nil {
		return 0, err
	}
	next := make(chan *unstructured.Unstructured)
	errs := make(chan error, FloorWorkers)
	var wg sync.WaitGroup
	start := time.Now()
	for range FloorWorkers {
		wg.Go(func() {
			for u := range next {
				if err := cl.Apply(ctx, client.ApplyConfigurationFromUnstructured(u.DeepCopy()), client.FieldOwner(fieldManager), client.ForceOwnership); err != nil {
					select {
					case errs <- err: // the first few are enough
					default:
					}
				}
			}
		})
	}
	go func() {
		defer close(next)
		for _, u := range objs {
			select {
			case next <- u:
			case <-ctx.Done():
				return
			}
		}
	}()
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return elapsed, errors.Join(all...)
}
