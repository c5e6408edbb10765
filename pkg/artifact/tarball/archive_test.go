package tarball

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeTree creates a small tree with an exec file, an empty dir, a symlink
// (never archived) and a directory excluded by the test filter.
func writeTree(t testing.TB, dir string, mtime time.Time) {
	t.Helper()
	files := map[string]struct {
		body string
		mode os.FileMode
	}{
		"README.md":                {"# hi\n", 0o600},
		"apps/base/deploy.yaml":    {"kind: Deployment\n", 0o664},
		"apps/base/kustomize.yaml": {"resources: []\n", 0o644},
		"bin/run.sh":               {"#!/bin/sh\necho hi\n", 0o700},
		".git/HEAD":                {"ref: refs/heads/main\n", 0o644},
		strings.Repeat("long", 40) + "/name.yaml": {"long: true\n", 0o644},
	}
	for name, f := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.body), f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "empty"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "apps", "passwd")); err != nil {
		t.Fatal(err)
	}
}

func skipGit(p string, fi os.FileInfo) bool {
	return fi.IsDir() && fi.Name() == ".git"
}

func archiveBytes(t testing.TB, dir string, filter Filter) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Archive(&buf, dir, filter); err != nil {
		t.Fatalf("Archive: %v", err)
	}
	return buf.Bytes()
}

func TestArchiveRoundTrip(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	writeTree(t, src, time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC))
	data := archiveBytes(t, src, skipGit)

	dest := filepath.Join(t.TempDir(), "dest")
	if err := Untar(bytes.NewReader(data), dest, DefaultLimits()); err != nil {
		t.Fatalf("Untar: %v", err)
	}
	want := map[string]os.FileMode{
		"README.md":                               0o644,
		"apps/base/deploy.yaml":                   0o644,
		"apps/base/kustomize.yaml":                0o644,
		"bin/run.sh":                              0o755,
		strings.Repeat("long", 40) + "/name.yaml": 0o644,
	}
	for name, mode := range want {
		got, err := os.ReadFile(filepath.Join(dest, name))
		if err != nil {
			t.Fatalf("missing %s: %v", name, err)
		}
		orig, _ := os.ReadFile(filepath.Join(src, name))
		if !bytes.Equal(got, orig) {
			t.Fatalf("%s content differs", name)
		}
		fi, _ := os.Stat(filepath.Join(dest, name))
		if fi.Mode().Perm() != mode {
			t.Fatalf("%s mode = %v, want %v", name, fi.Mode().Perm(), mode)
		}
	}
	if fi, err := os.Stat(filepath.Join(dest, "empty")); err != nil || !fi.IsDir() {
		t.Fatalf("empty dir not restored: %v", err)
	}
	for _, gone := range []string{".git", "apps/passwd"} {
		if _, err := os.Lstat(filepath.Join(dest, gone)); err == nil {
			t.Fatalf("%s should not be archived", gone)
		}
	}
}

func TestArchiveDeterministic(t *testing.T) {
	a := filepath.Join(t.TempDir(), "a")
	b := filepath.Join(t.TempDir(), "elsewhere", "b")
	writeTree(t, a, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
	writeTree(t, b, time.Now())

	first := archiveBytes(t, a, skipGit)
	second := archiveBytes(t, a, skipGit)
	other := archiveBytes(t, b, skipGit)
	if !bytes.Equal(first, second) {
		t.Fatal("archiving the same tree twice gave different bytes")
	}
	if sha256.Sum256(first) != sha256.Sum256(other) {
		t.Fatal("same content at another path/mtime gave a different digest")
	}
}

func TestArchiveHeadersNormalised(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, time.Now())
	zr, err := gzip.NewReader(bytes.NewReader(archiveBytes(t, src, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !zr.ModTime.IsZero() || zr.Name != "" {
		t.Fatalf("gzip header not normalised: %v %q", zr.ModTime, zr.Name)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		if hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.Gname != "" || hdr.ModTime.Unix() != 0 {
			t.Fatalf("%s: header not normalised: %+v", hdr.Name, hdr)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if hdr.Mode != 0o755 || !strings.HasSuffix(hdr.Name, "/") {
				t.Fatalf("dir %s: mode %o", hdr.Name, hdr.Mode)
			}
		case tar.TypeReg:
			want := int64(0o644)
			if hdr.Name == "bin/run.sh" {
				want = 0o755
			}
			if hdr.Mode != want {
				t.Fatalf("file %s: mode %o, want %o", hdr.Name, hdr.Mode, want)
			}
		default:
			t.Fatalf("unexpected entry type %q for %s", hdr.Typeflag, hdr.Name)
		}
	}
	if names[0] != ".git/" || !contains(names, ".git/HEAD") {
		t.Fatalf("without a filter .git should be archived first, got %v", names)
	}
}

func TestArchiveErrors(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{f, filepath.Join(t.TempDir(), "missing")} {
		if err := Archive(io.Discard, dir, nil); err == nil {
			t.Fatalf("Archive(%s) succeeded", dir)
		}
	}
}

func BenchmarkArchive(b *testing.B) {
	dir := b.TempDir()
	size := genTree(b, dir, 500, 2048)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := Archive(io.Discard, dir, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUntar(b *testing.B) {
	src := b.TempDir()
	size := genTree(b, src, 500, 2048)
	data := archiveBytes(b, src, nil)
	work := b.TempDir()
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dest := filepath.Join(work, "dest")
		if err := Untar(bytes.NewReader(data), dest, DefaultLimits()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := os.RemoveAll(dest); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
