package e2e

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var (
	profileDir     = flag.String("e2e.profile-dir", "", "BenchmarkKustomizations: write kustomize-controller's CPU profile of the run and its heap profile once all are Ready to this directory (empty: no profiles)")
	profileSeconds = flag.Int("e2e.profile-seconds", 30, "BenchmarkKustomizations: length of the CPU profile, from the creation of the Kustomizations")
)

// controllerProfiles takes pprof profiles of a controller process from
// the pprof endpoints of its metrics server, when -e2e.profile-dir is set.
type controllerProfiles struct {
	dir, prefix string
	port        int
	cpuDone     chan error
}

// startProfiles starts the CPU profile of a controller (metrics server on
// port) for -e2e.profile-seconds; Finish waits for it and takes the heap
// profile. It returns nil when profiling is off.
func startProfiles(ctx context.Context, b *testing.B, port int, prefix string) *controllerProfiles {
	if *profileDir == "" {
		return nil
	}
	if err := os.MkdirAll(*profileDir, 0o755); err != nil {
		b.Fatal(err)
	}
	p := &controllerProfiles{dir: *profileDir, prefix: prefix, port: port, cpuDone: make(chan error, 1)}
	go func() {
		p.cpuDone <- p.fetch(ctx, fmt.Sprintf("profile?seconds=%d", *profileSeconds), "cpu")
	}()
	return p
}

// Finish takes the heap profile now and waits for the CPU profile.
func (p *controllerProfiles) Finish(ctx context.Context, b *testing.B) {
	if p == nil {
		return
	}
	if err := p.fetch(ctx, "heap?gc=1", "heap"); err != nil {
		b.Errorf("heap profile: %v", err)
	}
	if err := <-p.cpuDone; err != nil {
		b.Errorf("CPU profile: %v", err)
	}
}

func (p *controllerProfiles) fetch(ctx context.Context, query, kind string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(*profileSeconds+60)*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/%s", p.port, query), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", req.URL, resp.Status)
	}
	f, err := os.Create(filepath.Join(p.dir, p.prefix+"."+kind+".pprof"))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
