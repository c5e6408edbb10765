package helm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadDirPaths: the chart path and the files of the chart are read
// through an os.Root on the source: links inside are followed, links and
// paths leading out are refused naming the path, .helmignore applies.
func TestLoadDirPaths(t *testing.T) {
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	outside := filepath.Join(tmp, "outside")
	write := func(p, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	chartYAML := func(name string) string { return "apiVersion: v2\nname: " + name + "\nversion: 1.0.0\n" }
	write(filepath.Join(outside, "Chart.yaml"), chartYAML("outside"))
	write(filepath.Join(outside, "secret.yaml"), "kind: Secret\n")
	write(filepath.Join(src, "app", "Chart.yaml"), chartYAML("app"))
	write(filepath.Join(src, "app", "templates", "cm.yaml"), "kind: ConfigMap\n")
	write(filepath.Join(src, "app", "ignored", "big.bin"), "x")
	write(filepath.Join(src, "app", ".helmignore"), "ignored/\n")
	write(filepath.Join(src, "leaky", "Chart.yaml"), chartYAML("leaky"))
	write(filepath.Join(src, "dep", "Chart.yaml"), chartYAML("dep")+"dependencies:\n- name: outside\n  repository: file://../../outside\n")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink("app", filepath.Join(src, "alias")))
	must(os.Symlink("../outside", filepath.Join(src, "linked")))
	must(os.MkdirAll(filepath.Join(src, "leaky", "templates"), 0o755))
	must(os.Symlink("../../../outside/secret.yaml", filepath.Join(src, "leaky", "templates", "secret.yaml")))

	for _, tc := range []struct {
		path, name, err string
	}{
		{path: "app", name: "app"},
		{path: "./app/", name: "app"},
		{path: "alias", name: "app"},
		{path: "../outside", err: `chart path "../outside": path "../outside": path escapes root`},
		{path: "/etc", err: "absolute path not allowed"},
		{path: "linked", err: `chart path "linked": path "linked": resolves outside root through a symlink`},
		{path: "leaky", err: `chart file "templates/secret.yaml"`},
		{path: "dep", err: `dependency "outside" of chart "dep": chart path "../outside"`},
		{path: "missing", err: `chart path "missing" not found in the source`},
	} {
		t.Run(tc.path, func(t *testing.T) {
			ch, err := LoadDir(context.Background(), src, tc.path, 0, nil)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("LoadDir(%q) = %v; want %q", tc.path, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ch.Name() != tc.name || len(ch.Templates) != 1 {
				t.Fatalf("loaded %q with %d templates", ch.Name(), len(ch.Templates))
			}
			for _, f := range ch.Files {
				if strings.HasPrefix(f.Name, "ignored/") {
					t.Fatalf(".helmignore not applied: %s loaded", f.Name)
				}
			}
		})
	}
}
