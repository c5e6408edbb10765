package bootstrap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckOwnFolder: a repository whose <path>/flux-system holds only
// bootstrap's files (or nothing) is bootstrap's to write; anything else
// there, or a file in its place, is refused naming it.
func TestCheckOwnFolder(t *testing.T) {
	files := map[string][]byte{ComponentsFile: nil, SyncFile: nil, KustomizationFile: nil}
	for _, tc := range []struct {
		name  string
		exist map[string]string
		err   string
	}{
		{name: "empty repository"},
		{name: "other clusters beside it", exist: map[string]string{"clusters/staging/flux-system/gotk-sync.yaml": "", "README.md": ""}},
		{name: "an earlier bootstrap", exist: map[string]string{"clusters/production/flux-system/gotk-sync.yaml": "", "clusters/production/flux-system/kustomization.yaml": ""}},
		{name: "foreign files", exist: map[string]string{"clusters/production/flux-system/notes.md": "", "clusters/production/flux-system/app.yaml": ""},
			err: "the repository's clusters/production/flux-system holds files bootstrap does not manage (app.yaml, notes.md)"},
		{name: "a file in its place", exist: map[string]string{"clusters/production/flux-system": ""},
			err: "the repository already has clusters/production/flux-system and it is not a folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tc.exist {
				p := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := checkOwnFolder(dir, "clusters/production", files)
			if tc.err == "" && err != nil {
				t.Fatal(err)
			}
			if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("error = %v; want %q", err, tc.err)
			}
		})
	}
}
