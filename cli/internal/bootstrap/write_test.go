package bootstrap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteComponents: the manifests land at --path/flux-system in the
// clone; a --path leaving it, lexically or through a symlink committed
// in the repository, is refused naming the path and writes nothing.
func TestWriteComponents(t *testing.T) {
	clone, outside := t.TempDir(), t.TempDir()
	if err := os.Symlink(outside, filepath.Join(clone, "escape")); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"gotk-sync.yaml": []byte("kind: Kustomization\n")}
	for _, tc := range []struct{ path, err string }{
		{path: "clusters/my-cluster"},
		{path: ""},
		{path: "../elsewhere", err: `--path "../elsewhere": path "../elsewhere/flux-system": path escapes root`},
		{path: "/etc", err: "absolute path not allowed"},
		{path: "escape/cluster", err: `--path "escape/cluster": path "escape/cluster/flux-system": resolves outside root through a symlink`},
	} {
		t.Run(tc.path, func(t *testing.T) {
			err := writeComponents(clone, tc.path, files)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("writeComponents(%q) = %v; want %q", tc.path, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(filepath.Join(clone, tc.path, Name, "gotk-sync.yaml")); err != nil || string(b) != "kind: Kustomization\n" {
				t.Fatalf("written file: %q, %v", b, err)
			}
		})
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("wrote outside the clone: %v", entries)
	}
}
