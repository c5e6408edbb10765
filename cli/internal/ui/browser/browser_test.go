package browser

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/fluxcd/pkg/apis/meta"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gotk.dev/cli/internal/ui"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testenv"
)

var env *testenv.Environment

func TestMain(m *testing.M) {
	if _, err := exec.LookPath("chromium"); err != nil {
		fmt.Fprintln(os.Stderr, "chromium is not installed: run `make test` (or `make browser`), which installs it")
		os.Exit(1)
	}
	testenv.Main(m, &env)
}

// page is an open tab that records what the browser says about it.
type page struct {
	ctx    context.Context
	origin string
	mu     sync.Mutex
	errs   []string
}

func (p *page) record(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.errs = append(p.errs, fmt.Sprintf(format, args...))
}

func (p *page) problems() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errs...)
}

// openBrowser starts headless Chromium on the UI at base and records
// console errors, exceptions and every request to another origin.
func openBrowser(t *testing.T, base string) *page {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath("chromium"),
		chromedp.Flag("disable-gpu", true), chromedp.WindowSize(1280, 900))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium's sandbox refuses to run as root
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	u, _ := url.Parse(base)
	p := &page{ctx: ctx, origin: u.Scheme + "://" + u.Host}
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				p.record("console.error: %v", ev.Args)
			}
		case *runtime.EventExceptionThrown:
			p.record("exception: %s (%s:%d)", ev.ExceptionDetails.Text, ev.ExceptionDetails.URL, ev.ExceptionDetails.LineNumber)
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				p.record("console: %s %s", ev.Entry.Text, ev.Entry.URL)
			}
		case *network.EventRequestWillBeSent:
			if r := ev.Request.URL; !strings.HasPrefix(r, p.origin+"/") && r != p.origin && !strings.HasPrefix(r, "data:") {
				p.record("request to another origin: %s", r)
			}
		}
	})
	if err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	for _, enable := range []func() error{
		func() error { _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); return err },
		func() error { _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); return err },
		func() error { _, err := chromedp.Call(ctx, runtime.Enable, cdp.Empty{}); return err },
	} {
		if err := enable(); err != nil {
			t.Fatalf("enabling the browser's event domains: %v", err)
		}
	}
	return p
}

// visit loads a page, waits for its <main> and saves a screenshot.
func (p *page) visit(t *testing.T, path, shot string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(p.origin+path))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if resp.Status != 200 {
		t.Fatalf("%s: HTTP %d %s", path, resp.Status, resp.StatusText)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("main"))); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	screenshot(t, p, shot)
}

// fixtures creates a GitRepository with an artifact and a Kustomization
// applying it, with a history entry, in a fresh namespace.
func fixtures(t *testing.T) (string, *kustomizev1.Kustomization) {
	t.Helper()
	ctx := context.Background()
	ns := env.NewNamespace(t)
	repo := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "podinfo"},
		Spec: sourcev1.GitRepositorySpec{URL: "https://git.example/podinfo", Interval: metav1.Duration{Duration: time.Hour}}}
	if err := env.Client.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	rev := "main@sha1:5f1e3b2c9a7d4e6f8a0b1c2d3e4f5a6b7c8d9e0f"
	repo.Status.Artifact = &meta.Artifact{Path: "x.tar.gz", URL: "http://source-controller/x.tar.gz", Revision: rev,
		Digest: "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9", LastUpdateTime: metav1.Now()}
	apimeta.SetStatusCondition(&repo.Status.Conditions, metav1.Condition{Type: meta.ReadyCondition, Status: metav1.ConditionTrue,
		Reason: meta.SucceededReason, Message: "stored artifact for revision '" + rev + "'"})
	if err := env.Client.Status().Update(ctx, repo); err != nil {
		t.Fatal(err)
	}
	ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "apps"},
		Spec: kustomizev1.KustomizationSpec{Interval: metav1.Duration{Duration: time.Hour}, Path: "./apps", Prune: true,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "podinfo"}}}
	if err := env.Client.Create(ctx, ks); err != nil {
		t.Fatal(err)
	}
	ks.Status.LastAppliedRevision = rev
	ks.Status.Inventory = &kustomizev1.ResourceInventory{Entries: []kustomizev1.ResourceRef{
		{ID: ns + "_web_apps_Deployment", Version: "v1"}, {ID: ns + "_web__Service", Version: "v1"}}}
	ks.Status.History.Upsert("sha256:77aa", time.Now(), 2*time.Second, meta.ReconciliationSucceededReason,
		map[string]string{"revision": rev})
	apimeta.SetStatusCondition(&ks.Status.Conditions, metav1.Condition{Type: meta.ReadyCondition, Status: metav1.ConditionTrue,
		Reason: meta.ReconciliationSucceededReason, Message: "Applied revision: " + rev})
	if err := env.Client.Status().Update(ctx, ks); err != nil {
		t.Fatal(err)
	}
	return ns, ks
}

// serveUI serves the UI on loopback for the test and returns its login URL.
func serveUI(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s, err := ui.New(ctx, ui.Options{Config: env.Config})
	if err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() { _ = s.Serve(ctx, "127.0.0.1:0", func(u string) { urls <- u }) }()
	return <-urls
}

// setFailed makes the Kustomization's Ready condition False.
func setFailed(t *testing.T, ks *kustomizev1.Kustomization, msg string) {
	t.Helper()
	ks.Status.Conditions = nil
	apimeta.SetStatusCondition(&ks.Status.Conditions, metav1.Condition{Type: meta.ReadyCondition, Status: metav1.ConditionFalse,
		Reason: "HealthCheckFailed", Message: msg})
	if err := env.Client.Status().Update(context.Background(), ks); err != nil {
		t.Fatal(err)
	}
}

// TestPagesInChromium opens every page in headless Chromium: none logs an
// error or asks another origin for anything; a status change reaches the
// open Kustomization page without a reload; suspend and resume work from
// the page. Screenshots go to the test's artifact directory.
func TestPagesInChromium(t *testing.T) {
	ns, ks := fixtures(t)
	login := serveUI(t)
	p := openBrowser(t, login)
	start := time.Now()
	p.visit(t, strings.TrimPrefix(login, p.origin), "overview")
	kinds := []string{"gitrepository", "ocirepository", "helmrepository", "helmchart", "bucket", "kustomization",
		"helmrelease", "imagerepository", "imagepolicy", "imageupdateautomation", "receiver", "alert", "provider"}
	for _, k := range kinds {
		p.visit(t, "/kinds/"+k, "list-"+k)
	}
	p.visit(t, "/kinds/kustomization?namespace="+ns+"&status=Ready&sort=-name", "list-filtered")
	p.visit(t, "/objects/gitrepository/"+ns+"/podinfo", "object-gitrepository")
	helmRelease(t, ns)
	p.visit(t, "/objects/helmrelease/"+ns+"/web", "object-helmrelease")
	p.visit(t, "/objects/helmrelease/"+ns+"/web?from=0&to=1", "object-helmrelease-diff")
	ksPage := "/objects/kustomization/" + ns + "/apps"
	p.visit(t, "/graph", "graph")
	// The fixture's artifact is not served: the drift page says so, and renders cleanly.
	p.visit(t, ksPage+"/drift", "drift")
	p.visit(t, ksPage, "object-kustomization") // last: the live check below runs on it
	t.Logf("%d pages rendered in %s", len(kinds)+8, time.Since(start).Round(time.Millisecond))

	// Live: mark the document, change the status, wait for the page to show it.
	wctx, wcancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer wcancel()
	if err := chromedp.Do(wctx,
		chromedp.WaitVisible(chromedp.CSS("#live.on")),
		chromedp.Evaluate[chromedp.Void](`window.notReloaded = "yes"`)); err != nil {
		t.Fatalf("the event stream did not open: %v", err)
	}
	changed := time.Now()
	setFailed(t, ks, "health check failed: Deployment/"+ns+"/web not ready")
	if err := chromedp.Do(wctx, chromedp.WaitVisible(chromedp.CSS("#status.st-failed"))); err != nil {
		t.Fatalf("the status change did not reach the open page: %v", err)
	}
	status, err := chromedp.Run(wctx, chromedp.Text(chromedp.ID("conditions")))
	if err != nil {
		t.Fatal(err)
	}
	marked, err := chromedp.Run(wctx, chromedp.Evaluate[string](`window.notReloaded || ""`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("status change shown on the open page after %s", time.Since(changed).Round(time.Millisecond))
	if marked != "yes" || !strings.Contains(status, "health check failed") {
		t.Fatalf("page reloaded (%q) or conditions lack the message: %q", marked, status)
	}
	screenshot(t, p, "object-kustomization-live")

	// Actions from the page: suspend, then resume.
	if err := chromedp.Do(wctx, chromedp.Click(chromedp.ID("act-suspend")),
		chromedp.WaitVisible(chromedp.ID("act-resume")), chromedp.WaitVisible(chromedp.CSS("#status.st-suspended"))); err != nil {
		t.Fatalf("suspend from the page: %v", err)
	}
	screenshot(t, p, "object-kustomization-suspended")
	if err := chromedp.Do(wctx, chromedp.Click(chromedp.ID("act-resume")),
		chromedp.WaitVisible(chromedp.ID("act-suspend"))); err != nil {
		t.Fatalf("resume from the page: %v", err)
	}
	if errs := p.problems(); len(errs) > 0 {
		t.Fatalf("the browser reported:\n%s", strings.Join(errs, "\n"))
	}
	t.Logf("screenshots in %s", t.ArtifactDir())
}

// screenshot saves the tab as name.png in the test's artifact directory.
func screenshot(t *testing.T, p *page, name string) {
	t.Helper()
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100)) // 100 is PNG; less is JPEG
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPollingFallback: in a browser without EventSource the page polls
// and still shows a status change without a reload.
func TestPollingFallback(t *testing.T) {
	ns, ks := fixtures(t)
	login := serveUI(t)
	p := openBrowser(t, login)
	if _, err := chromedp.Call(p.ctx, cdppage.AddScriptToEvaluateOnNewDocument,
		cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: "delete window.EventSource;"}); err != nil {
		t.Fatal(err)
	}
	p.visit(t, strings.TrimPrefix(login, p.origin), "polling-overview")
	p.visit(t, "/objects/kustomization/"+ns+"/apps", "polling-kustomization")
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#live.poll")),
		chromedp.Evaluate[chromedp.Void](`window.notReloaded = "yes"`)); err != nil {
		t.Fatalf("the page does not poll: %v", err)
	}
	changed := time.Now()
	setFailed(t, ks, "health check failed")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#status.st-failed"))); err != nil {
		t.Fatalf("polling did not bring the status change: %v", err)
	}
	t.Logf("status change shown by polling after %s", time.Since(changed).Round(time.Millisecond))
	if marked, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.notReloaded || ""`)); err != nil || marked != "yes" {
		t.Fatalf("the page reloaded (%q, %v)", marked, err)
	}
	if errs := p.problems(); len(errs) > 0 {
		t.Fatalf("the browser reported:\n%s", strings.Join(errs, "\n"))
	}
}
