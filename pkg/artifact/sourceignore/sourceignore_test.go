package sourceignore

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"gotk.dev/pkg/artifact/tarball"
)

func TestFilter(t *testing.T) {
	files := map[string]string{
		"deploy/app.yaml":      "a",
		"deploy/logo.png":      "png",
		"deploy/.sourceignore": "*.txt\n",
		"deploy/notes.txt":     "n",
		"notes.txt":            "kept: the nested .sourceignore is scoped",
		".github/workflows/x":  "ci",
		".sops.yaml":           "s",
		"docs/readme.md":       "d",
		"secret/key.yaml":      "k",
		"keep.png":             "re-included by the spec",
	}
	spec := "/secret/\n!keep.png\n"
	cases := []struct {
		name   string
		sparse []string
		want   []string
	}{
		{"ignore", nil, []string{"deploy/.sourceignore", "deploy/app.yaml", "docs/readme.md", "keep.png", "notes.txt"}},
		{"sparse", []string{"deploy/", "./docs"}, []string{"deploy/.sourceignore", "deploy/app.yaml", "docs/readme.md"}},
	}
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps, err := Load(dir, &spec)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := tarball.Archive(&buf, dir, Filter(dir, ps, c.sparse)); err != nil {
				t.Fatal(err)
			}
			got := listFiles(t, &buf)
			if !equal(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

func listFiles(t *testing.T, r io.Reader) []string {
	t.Helper()
	gz, err := gzip.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var out []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			out = append(out, h.Name)
		}
	}
	sort.Strings(out)
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
