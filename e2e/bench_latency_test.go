package e2e

import (
	"context"
	"flag"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var (
	latencyCommits = flag.Int("e2e.latency-commits", 50, "BenchmarkGitOpsLatency: commits timed from push to applied (p99 is reported from 200 on, else the maximum)")
	latencyDrifts  = flag.Int("e2e.latency-drifts", 20, "BenchmarkGitOpsLatency: hand edits timed until corrected (p99 is reported from 200 on, else the maximum)")
)

// minP99Samples is the fewest samples a p99 is reported over: with fewer,
// the nearest-rank 99th percentile is just the maximum.
const minP99Samples = 200

// reportLatency reports the median of ds as name-p50-ms and, over at
// least minP99Samples, the p99 as name-p99-ms; fewer samples report their
// maximum as name-max-ms.
func reportLatency(b *testing.B, name string, ds []time.Duration) {
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 }
	b.ReportMetric(ms(percentile(ds, 50)), name+"-p50-ms")
	if len(ds) >= minP99Samples {
		b.ReportMetric(ms(percentile(ds, 99)), name+"-p99-ms")
		return
	}
	b.ReportMetric(ms(percentile(ds, 100)), name+"-max-ms")
}

// timeUntilWatched opens a watch on obj (list is its kind's list), runs
// act, and returns the time from act's start until the watch delivered
// the first event of obj in which done holds: the event's arrival, not
// the next tick of a poll.
func timeUntilWatched(ctx context.Context, b *testing.B, obj client.Object, list client.ObjectList, timeout time.Duration,
	what string, act func(), done func(client.Object) bool) time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	if err := wc.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		b.Fatal(err)
	}
	rv := obj.GetResourceVersion()
	watchFrom := func() watch.Interface {
		w, err := wc.Watch(ctx, list, &client.ListOptions{
			Namespace:     obj.GetNamespace(),
			FieldSelector: fields.OneTermEqualSelector("metadata.name", obj.GetName()),
			Raw:           &metav1.ListOptions{ResourceVersion: rv},
		})
		if err != nil {
			fatalf(b, "%s: watching %s: %v", what, obj.GetName(), err)
		}
		return w
	}
	w := watchFrom()
	defer func() { w.Stop() }()
	start := time.Now()
	act()
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				// The server ended the watch: follow on from the last version seen.
				if ctx.Err() != nil {
					fatalf(b, "%s: not within %s", what, timeout)
				}
				w = watchFrom()
				continue
			}
			at := time.Now()
			got, isObj := ev.Object.(client.Object)
			if !isObj || ev.Type == watch.Error || ev.Type == watch.Bookmark || ev.Type == watch.Deleted {
				continue
			}
			rv = got.GetResourceVersion()
			if done(got) {
				return at.Sub(start)
			}
		case <-ctx.Done():
			fatalf(b, "%s: not within %s", what, timeout)
		}
	}
}
