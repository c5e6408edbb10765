package dev

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"gotk.dev/pkg/testenv"
)

// TestDevStartsEverything builds the five controllers, starts them with the
// local control plane as `make run` does, and checks each is ready and
// wired (artifact server answering, state under the state dir).
func TestDevStartsEverything(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	binDir := t.TempDir()
	for _, name := range []string{"source-controller", "kustomize-controller", "helm-controller", "image-automation-controller", "notification-controller"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, name), "./"+name)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", name, err, out)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	state := t.TempDir()
	s, err := start(ctx, options{stateDir: state, binDir: binDir, timeout: 2 * time.Minute, noDemo: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()

	if len(s.procs.list) != 5 {
		t.Fatalf("%d controllers running, want 5", len(s.procs.list))
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/nothing-here.tar.gz", s.procs.storagePort))
	if err != nil {
		t.Fatalf("artifact server not reachable: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("artifact server answered %d for a missing file, want 404", resp.StatusCode)
	}
	for _, f := range []string{"kubeconfig", "etcd", "logs/source-controller.log"} {
		if _, err := os.Stat(filepath.Join(state, f)); err != nil {
			t.Errorf("state dir lacks %s: %v", f, err)
		}
	}
}
