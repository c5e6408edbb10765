package ui

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
// tenth one failed): the whole first page, and a page filtered by status,
// each with its time to first byte (p50, p95; the goals are
// 300 ms and 100 ms) and the test process's peak RSS (the UI server and
// its cache; goal 80 MiB); and live: how long a status change takes to
// reach an open event stream (p50; goal 500 ms). process runs `gotk ui`
// with gotk-ui beside it, as shipped, so the server is gotk-ui (linking
// only the UI), and reports that process's own peak RSS, its peak
// anonymous RSS (heap and stacks) and its resident pages of the binary.
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
			var firstByte []time.Duration
			for b.Loop() {
				var start, first time.Time
				trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { first = time.Now() }}
				req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
					http.MethodGet, br.http.URL+bc.path, nil)
				start = time.Now()
				resp, err := br.c.Do(req)
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("GET %s: %v", bc.path, err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				firstByte = append(firstByte, first.Sub(start))
			}
			reportPercentiles(b, firstByte, "first-byte")
			b.ReportMetric(testenv.PeakRSSMiB(), "peak-RSS-MiB")
		})
	}
	b.Run("process", func(b *testing.B) {
		for b.Loop() {
			benchProcess(b, ns)
		}
	})
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
		var seen []time.Duration
		for b.Loop() {
			i++
			start := time.Now()
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
			seen = append(seen, time.Since(start))
		}
		reportPercentiles(b, seen, "change-to-stream")
		b.ReportMetric(testenv.PeakRSSMiB(), "peak-RSS-MiB")
	})
}

// reportPercentiles reports the p50 and p95 of the samples in milliseconds.
func reportPercentiles(b *testing.B, samples []time.Duration, name string) {
	if len(samples) == 0 {
		return
	}
	slices.Sort(samples)
	at := func(p float64) float64 {
		return float64(samples[min(len(samples)-1, int(p*float64(len(samples))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.50), name+"-p50-ms")
	b.ReportMetric(at(0.95), name+"-p95-ms")
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

// benchProcess runs `gotk ui` as its own process over the benchmark's
// objects, loads the list pages, and reports that process's peak RSS:
// the server's whole footprint, cache included, without the test's.
// gotk-ui is built beside gotk, as make build and the image place it, so
// `gotk ui` execs it: what is measured is the server the cluster runs.
func benchProcess(b *testing.B, ns string) {
	dir := b.TempDir()
	// Built as the images build them: static, without cgo.
	b.Setenv("CGO_ENABLED", "0")
	if err := testenv.BuildPrograms(dir, "cli", "cli/cmd/gotk-ui"); err != nil {
		b.Fatal(err)
	}
	ports, err := testenv.FreePorts(1)
	if err != nil {
		b.Fatal(err)
	}
	logPath := filepath.Join(dir, "ui.log")
	p, err := testenv.StartProcess(filepath.Join(dir, "cli"), logPath, os.Environ(),
		"--kubeconfig", env.Kubeconfig, "ui", "--address", fmt.Sprintf("127.0.0.1:%d", ports[0]))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Stop(5 * time.Second)
	anon := testenv.SampleAnonRSS(p.Pid(), 5*time.Millisecond)
	var login string
	testenv.Eventually(b, 2*time.Minute, "gotk ui prints its URL", func() error {
		out, _ := os.ReadFile(logPath)
		_, rest, ok := strings.Cut(string(out), "gotk UI: ")
		if !ok {
			return fmt.Errorf("no URL yet: %s", out)
		}
		login, _, _ = strings.Cut(rest, "\n")
		return nil
	})
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: time.Minute}
	base, _, _ := strings.Cut(login, "/login")
	get := func(path string) {
		resp, err := c.Get(base + path)
		if err != nil {
			b.Fatalf("GET %s: %v", path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %s", path, resp.Status)
		}
	}
	get(strings.TrimPrefix(login, base))
	get("/")
	for range 20 {
		get("/kinds/kustomization?namespace=" + ns)
		get("/kinds/kustomization?status=Failed&name=app-1")
	}
	if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.Pid())); filepath.Base(exe) != "gotk-ui" {
		b.Fatalf("gotk ui runs %s, not the gotk-ui beside it", exe)
	}
	b.ReportMetric(testenv.ProcessPeakRSSMiB(p.Pid()), "ui-process-peak-RSS-MiB")
	b.ReportMetric(anon(), "ui-process-peak-anon-RSS-MiB")
	b.ReportMetric(testenv.ProcessStatusMiB(p.Pid(), "RssFile:"), "ui-process-file-RSS-MiB")
}
