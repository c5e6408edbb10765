package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMigrateCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "apps.yaml")
	old := "apiVersion: helm.toolkit.fluxcd.io/v2beta1\nkind: HelmRelease\n---\napiVersion: image.toolkit.fluxcd.io/v1beta1\nkind: ImagePolicy\n"
	if err := os.WriteFile(file, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		out  string // in the output, or in the error when err
		err  bool
		file string
	}{
		{"version needs -f", []string{"migrate", "--version", "2.6"}, "--version applies to files only", true, old},
		{"bad version", []string{"migrate", "-f", dir, "--version", "1.0"}, "only Flux 2.x", true, old},
		{"dry run", []string{"migrate", "-f", dir, "--dry-run"}, "would migrate (dry run) 2 objects", false, old},
		{"flux 2.6", []string{"migrate", "-f", file, "--version", "2.6"}, "migrated 2 objects", false,
			"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n---\napiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\n"},
		{"latest", []string{"migrate", "-f", dir}, "ImagePolicy image.toolkit.fluxcd.io/v1beta2 -> image.toolkit.fluxcd.io/v1", false,
			"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\n"},
		{"cluster", []string{"migrate"}, "kustomizations.kustomize.toolkit.fluxcd.io: ", false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, tt.args...)
			got := out
			if tt.err {
				if err == nil {
					t.Fatalf("no error; output %s", out)
				}
				got = err.Error()
			} else if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(got, tt.out) {
				t.Errorf("got %q, want it to contain %q", got, tt.out)
			}
			if tt.file != "" {
				if data, _ := os.ReadFile(file); string(data) != tt.file {
					t.Errorf("file = %q, want %q", data, tt.file)
				}
			}
		})
	}
}
