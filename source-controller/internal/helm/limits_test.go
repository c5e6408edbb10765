package helm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotk.dev/pkg/testserver"
)

func TestSizeLimitsAreEnforcedAndNamed(t *testing.T) {
	srv := testserver.NewHelmRepoForTest(t, testserver.HelmRepoOptions{})
	noise := make([]byte, 32<<10)
	_, _ = rand.Read(noise)
	if err := srv.AddChart("app", "1.0.0", map[string]string{"files/big.txt": hex.EncodeToString(noise)}); err != nil {
		t.Fatal(err)
	}
	g := &Getter{RepoURL: srv.URL()}
	_, err := FetchIndex(context.Background(), g, 100, "")
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "100 bytes") {
		t.Fatalf("index over the limit: %v", err)
	}
	index, err := FetchIndex(context.Background(), g, 1<<20, "")
	if err != nil {
		t.Fatalf("index within the limit: %v", err)
	}
	index.Remove()
	_, err = g.Get(context.Background(), srv.ChartURL("app", "1.0.0"), 1024)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "1024 bytes") {
		t.Fatalf("chart over the limit: %v", err)
	}
	data, err := g.Get(context.Background(), srv.ChartURL("app", "1.0.0"), 10<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadArchive(data, 1024); err == nil || !strings.Contains(err.Error(), "over the limit of 1024") {
		t.Fatalf("chart file over the limit: %v", err)
	}
}

// FuzzLoadDirPath: whatever the chart path, loading never reads outside the source root.
func FuzzLoadDirPath(f *testing.F) {
	for _, p := range []string{"charts/app", "../../etc", "/etc", "charts/../../x", "./charts/app", "charts/app/../../.."} {
		f.Add(p)
	}
	root := f.TempDir()
	app := filepath.Join(root, "src", "charts", "app")
	if err := os.MkdirAll(filepath.Join(app, "templates"), 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "Chart.yaml"), []byte("apiVersion: v2\nname: app\nversion: 1.0.0\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	// A chart outside the source root that an escaping path would reach.
	outside := filepath.Join(root, "outside")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "Chart.yaml"), []byte("apiVersion: v2\nname: outside\nversion: 1.0.0\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, p string) {
		ch, err := LoadDir(context.Background(), filepath.Join(root, "src"), p, 0, nil)
		if err == nil && ch.Name() == "outside" {
			t.Fatalf("path %q loaded a chart outside the source", p)
		}
	})
}
