package migrate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMigrateFiles(t *testing.T) {
	latest := Latest()
	flux26, err := ForFluxVersion("2.6")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		targets Targets
		in      string
		want    string
		changes int
	}{
		{"source v1beta1 and v1beta2", latest,
			"apiVersion: source.toolkit.fluxcd.io/v1beta1\nkind: GitRepository\n---\napiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: HelmRepository\n---\napiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: OCIRepository\n---\napiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: Bucket\n---\napiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: HelmChart\n",
			"apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: Bucket\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\n", 5},
		{"kustomize v1beta2 with its sourceRef", latest,
			"# keep me\napiVersion: kustomize.toolkit.fluxcd.io/v1beta2\nkind: Kustomization\nspec:\n  sourceRef:\n    apiVersion: source.toolkit.fluxcd.io/v1beta2\n    kind: GitRepository # comment\n    name: x\n",
			"# keep me\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nspec:\n  sourceRef:\n    apiVersion: source.toolkit.fluxcd.io/v1\n    kind: GitRepository # comment\n    name: x\n", 2},
		{"helm v2beta1 and v2beta2, quoted", latest,
			"apiVersion: \"helm.toolkit.fluxcd.io/v2beta1\"\nkind: HelmRelease\n---\napiVersion: helm.toolkit.fluxcd.io/v2beta2\nkind: HelmRelease\n",
			"apiVersion: \"helm.toolkit.fluxcd.io/v2\"\nkind: HelmRelease\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n", 2},
		{"notification by kind", latest,
			"apiVersion: notification.toolkit.fluxcd.io/v1beta1\nkind: Alert\n---\napiVersion: notification.toolkit.fluxcd.io/v1beta2\nkind: Provider\n---\napiVersion: notification.toolkit.fluxcd.io/v1beta2\nkind: Receiver\n",
			"apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Alert\n---\napiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Provider\n---\napiVersion: notification.toolkit.fluxcd.io/v1\nkind: Receiver\n", 3},
		{"image group", latest,
			"apiVersion: image.toolkit.fluxcd.io/v1beta1\nkind: ImageRepository\n---\napiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\n---\napiVersion: image.toolkit.fluxcd.io/v1beta1\nkind: ImageUpdateAutomation\n",
			"apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\n", 3},
		{"List items and flow style", latest,
			"apiVersion: v1\nkind: List\nitems:\n- {apiVersion: helm.toolkit.fluxcd.io/v2beta1, kind: HelmRelease}\n",
			"apiVersion: v1\nkind: List\nitems:\n- {apiVersion: helm.toolkit.fluxcd.io/v2, kind: HelmRelease}\n", 1},
		{"current, newer and foreign versions untouched", latest,
			"apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n---\napiVersion: apps/v1\nkind: Deployment\n---\napiVersion: source.toolkit.fluxcd.io/v2\nkind: GitRepository\n---\napiVersion: example.com/v1beta1\nkind: HelmRelease\n",
			"apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n---\napiVersion: apps/v1\nkind: Deployment\n---\napiVersion: source.toolkit.fluxcd.io/v2\nkind: GitRepository\n---\napiVersion: example.com/v1beta1\nkind: HelmRelease\n", 0},
		{"--version 2.6 stops at Flux 2.6's versions", flux26,
			"apiVersion: image.toolkit.fluxcd.io/v1beta1\nkind: ImageUpdateAutomation\n---\napiVersion: image.toolkit.fluxcd.io/v1beta1\nkind: ImageRepository\n---\napiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: OCIRepository\n",
			"apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImageUpdateAutomation\n---\napiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImageRepository\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\n", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changes, err := Bytes([]byte(tt.in), tt.targets)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			if len(changes) != tt.changes {
				t.Errorf("%d changes, want %d: %v", len(changes), tt.changes, changes)
			}
		})
	}
}

func TestMigrateFilesPath(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := "apiVersion: helm.toolkit.fluxcd.io/v2beta1\nkind: HelmRelease\n"
	write("apps/release.yaml", old)
	write("apps/release.txt", old)
	write(".git/release.yaml", old)
	write("broken.yml", "a: [\n")

	if _, err := Path(dir, DefaultExtensions, Latest(), false); err == nil || !strings.Contains(err.Error(), "broken.yml") {
		t.Fatalf("broken YAML: got %v, want an error naming the file", err)
	}
	if err := os.Remove(filepath.Join(dir, "broken.yml")); err != nil {
		t.Fatal(err)
	}
	changes, err := Path(dir, DefaultExtensions, Latest(), true)
	if err != nil || len(changes) != 1 {
		t.Fatalf("dry run: %v %v", changes, err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "apps/release.yaml")); string(data) != old {
		t.Fatal("dry run wrote the file")
	}
	if changes, err = Path(dir, DefaultExtensions, Latest(), false); err != nil || len(changes) != 1 || changes[0].Line != 1 {
		t.Fatalf("run: %v %v", changes, err)
	}
	for name, want := range map[string]string{
		"apps/release.yaml": "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n",
		"apps/release.txt":  old,
		".git/release.yaml": old,
	} {
		if data, _ := os.ReadFile(filepath.Join(dir, name)); string(data) != want {
			t.Errorf("%s = %q, want %q", name, data, want)
		}
	}
}

func TestMigrateVersionFlag(t *testing.T) {
	for _, tt := range []struct {
		in, err string
	}{
		{"2.6", ""}, {"v2.7.1", ""}, {"1.2", "only Flux 2.x"}, {"two", "not a Flux release"}, {"2", "not a Flux release"}, {"2.x", "not a Flux release"},
	} {
		_, err := ForFluxVersion(tt.in)
		if (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("ForFluxVersion(%q) = %v, want error containing %q", tt.in, err, tt.err)
		}
	}
}
