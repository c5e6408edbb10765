package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	notificationv1 "gotk.dev/pkg/apis/notification/v1"
	notificationv1beta3 "gotk.dev/pkg/apis/notification/v1beta3"
	"gotk.dev/pkg/testserver"
)

// BenchmarkEventsToGenericProvider measures events per second accepted on
// the ingest endpoint and delivered through one Alert to a generic Provider
// on loopback (eight concurrent senders, like a busy cluster's controllers).
func BenchmarkEventsToGenericProvider(b *testing.B) {
	h := start(b)
	ns := env.NewNamespace(b)
	sink := testserver.NewWebhookSinkForTest(b)
	h.create(b, provider(ns, "hook", "generic", notificationv1beta3.ProviderSpec{Address: sink.URL()}))
	h.create(b, &notificationv1beta3.Alert{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bench"},
		Spec: notificationv1beta3.AlertSpec{ProviderRef: meta.LocalObjectReference{Name: "hook"},
			EventSources: []notificationv1beta3.CrossNamespaceObjectReference{{Kind: "Kustomization", Name: "*"}}}})
	// Distinct messages so that none is a duplicate.
	bodies := make([][]byte, b.N)
	for i := range bodies {
		ev := newEvent("Kustomization", "apps", ns, "info", fmt.Sprintf("Reconciliation finished (run %d)", i))
		bodies[i], _ = json.Marshal(ev)
	}
	var next atomic.Int64
	var refused atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					return
				}
				if h.post(b, h.eventsURL+"/", bodies[i], nil) != http.StatusAccepted {
					refused.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	accepted := time.Since(start)
	sink.WaitFor(b, b.N, 2*time.Minute)
	delivered := time.Since(start)
	b.StopTimer()
	if refused.Load() > 0 {
		b.Fatalf("%d events refused", refused.Load())
	}
	b.ReportMetric(float64(b.N)/accepted.Seconds(), "accepted-events/s")
	b.ReportMetric(float64(b.N)/delivered.Seconds(), "delivered-events/s")
}

// BenchmarkReceiverLatency measures a signed GitHub push from request to
// annotated GitRepository (the annotation is patched before the answer),
// reporting p50 and p99 (the maximum as max under 200 requests). For
// scale under the machine's load at the time, it also reports the same of
// the bare API patch the handler ends with, interleaved with the requests.
func BenchmarkReceiverLatency(b *testing.B) {
	h := start(b)
	ns := env.NewNamespace(b)
	h.create(b, secret(ns, "token", map[string]string{"token": "bench-token"}))
	h.create(b, gitRepo(ns, "app", nil))
	path := h.readyReceiver(b, &notificationv1.Receiver{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bench"},
		Spec: notificationv1.ReceiverSpec{Type: "github", SecretRef: &meta.LocalObjectReference{Name: "token"},
			Resources: []notificationv1.CrossNamespaceObjectReference{{Kind: "GitRepository", Name: "app"}}}})
	headers := map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": githubSig("bench-token", pushBody)}
	lat := make([]time.Duration, 0, b.N)
	bare := make([]time.Duration, 0, b.N)
	repo := gitRepo(ns, "app", nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if code := h.post(b, h.receiverURL+path, []byte(pushBody), headers); code != http.StatusOK {
			b.Fatalf("status %d", code)
		}
		lat = append(lat, time.Since(t0))

		b.StopTimer()
		patch := []byte(fmt.Sprintf(`{"metadata":{"annotations":{"bench/at":"%d"}}}`, i))
		t1 := time.Now()
		if err := env.Client.Patch(context.Background(), repo, client.RawPatch(types.MergePatchType, patch)); err != nil {
			b.Fatal(err)
		}
		bare = append(bare, time.Since(t1))
		b.StartTimer()
	}
	b.StopTimer()
	reportLatency(b, "", lat)
	reportLatency(b, "bare-patch-", bare)
}

// minP99Samples is the fewest samples a p99 is reported over: with fewer,
// the 99th percentile is just the maximum.
const minP99Samples = 200

// reportLatency reports the median of d and, over at least minP99Samples
// (-benchtime=200x or more), its p99; fewer samples report their maximum
// as max.
func reportLatency(b *testing.B, prefix string, d []time.Duration) {
	b.ReportMetric(percentile(d, 0.50), prefix+"p50-ms")
	if len(d) >= minP99Samples {
		b.ReportMetric(percentile(d, 0.99), prefix+"p99-ms")
		return
	}
	b.ReportMetric(percentile(d, 1), prefix+"max-ms")
}

// percentile returns the p-th percentile of d in milliseconds.
func percentile(d []time.Duration, p float64) float64 {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return float64(s[min(len(s)-1, int(p*float64(len(s))))].Microseconds()) / 1000
}
