package ui

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/testenv"
)

// benchObjects is the scale: 5,000 Flux objects.
const benchObjects = 5000

// BenchmarkListPage measures a list page over 5,000 Kustomizations (every
// tenth one failed): the whole first page, and a page filtered by status.
func BenchmarkListPage(b *testing.B) {
	ns := env.NewNamespace(b)
	createMany(b, ns, benchObjects)
	if err := testenv.ResetPeakRSS(); err != nil {
		b.Fatal(err)
	}
	br := open(b, env.Config, "")
	br.eventually(b, "/kinds/kustomization?namespace="+ns, fmt.Sprintf("%d objects", benchObjects))
	for _, bc := range []struct{ name, path string }{
		{"all", "/kinds/kustomization"},
		{"filtered", "/kinds/kustomization?status=Failed&name=app-1"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				resp, err := br.c.Get(br.http.URL + bc.path)
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("GET %s: %v", bc.path, err)
				}
				resp.Body.Close()
			}
			b.ReportMetric(testenv.PeakRSSMiB(), "peak-RSS-MiB")
		})
	}
	// live: one object's status changes; the time until an open event
	// stream says so (the API write included).
	b.Run("live", func(b *testing.B) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, br.http.URL+"/live", nil)
		resp, err := br.c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		lines := bufio.NewScanner(resp.Body)
		ks := &kustomizev1.Kustomization{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app-0001"}, ks); err != nil {
			b.Fatal(err)
		}
		i := 0
		for b.Loop() {
			i++
			apimeta.SetStatusCondition(&ks.Status.Conditions, metav1.Condition{Type: meta.ReadyCondition,
				Status: metav1.ConditionTrue, Reason: meta.ReconciliationSucceededReason, Message: fmt.Sprintf("Applied revision: %d", i)})
			if err := env.Client.Status().Update(ctx, ks); err != nil {
				b.Fatal(err)
			}
			for lines.Scan() && lines.Text() != "event: change" {
			}
			if lines.Err() != nil {
				b.Fatal(lines.Err())
			}
		}
	})
}

func createMany(b *testing.B, ns string, n int) {
	b.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	work := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range work {
				ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("app-%04d", i)},
					Spec: kustomizev1.KustomizationSpec{Interval: metav1.Duration{Duration: time.Hour},
						SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "repo"}}}
				if err := env.Client.Create(ctx, ks); err != nil {
					errs <- err
					continue
				}
				st, reason := metav1.ConditionTrue, meta.ReconciliationSucceededReason
				if i%10 == 0 {
					st, reason = metav1.ConditionFalse, meta.ReconciliationFailedReason
				}
				apimeta.SetStatusCondition(&ks.Status.Conditions, metav1.Condition{Type: meta.ReadyCondition,
					Status: st, Reason: reason, Message: "Applied revision: main@sha1:1234"})
				if err := env.Client.Status().Update(ctx, ks); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatalf("creating objects: %v", err)
	}
}
