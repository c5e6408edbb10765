package tarball

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// entry describes one tar entry for the test archive builders.
type entry struct {
	name     string
	typ      byte
	body     string
	linkname string
	mode     int64
}

// tarBytes builds an uncompressed tar with archive/tar.
func tarBytes(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Linkname: e.linkname, Mode: mode}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("header %q: %v", e.name, err)
		}
		if hdr.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gz compresses b.
func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawHeader hand-crafts a USTAR header block, so it can claim sizes whose
// content is never written.
func rawHeader(name string, typ byte, size int64) []byte {
	b := make([]byte, 512)
	copy(b[0:100], name)
	copy(b[100:108], "0000644\x00")
	copy(b[108:116], "0000000\x00")
	copy(b[116:124], "0000000\x00")
	copy(b[124:136], fmt.Sprintf("%011o\x00", size))
	copy(b[136:148], "00000000000\x00")
	b[156] = typ
	copy(b[257:263], "ustar\x00")
	copy(b[263:265], "00")
	copy(b[148:156], "        ")
	var sum int64
	for _, c := range b {
		sum += int64(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// paxFlood is an endless-looking run of PAX extended headers: archive/tar
// consumes them all inside a single Next call, so only the stream bound
// stops it.
func paxFlood(n int) []byte {
	rec := "30 comment=" + strings.Repeat("a", 18) + "\n" // 30 bytes incl. the length prefix
	block := append(rawHeader("PaxHeader", tar.TypeXHeader, int64(len(rec))), make([]byte, 512)...)
	copy(block[512:], rec)
	return bytes.Repeat(block, n)
}

// snapshot lists everything under root (relative slash paths with a type
// marker), used to prove nothing was written outside the destination.
func snapshot(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, fmt.Sprintf("%s\t%s", filepath.ToSlash(rel), d.Type()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// assertContained fails if anything exists in sandbox besides dest (and
// what was there before), or if dest holds anything but dirs and files.
func assertContained(t testing.TB, sandbox, dest string, before []string) {
	t.Helper()
	var outside []string
	base := filepath.Base(dest)
	for _, s := range snapshot(t, sandbox) {
		rel, _, _ := strings.Cut(s, "\t")
		inside := rel == "." || rel == base || strings.HasPrefix(rel, base+"/")
		if !inside && !contains(before, s) {
			outside = append(outside, s)
		}
	}
	if len(outside) > 0 {
		t.Fatalf("untar wrote outside the destination: %v", outside)
	}
	if _, err := os.Stat(dest); err != nil {
		return
	}
	_ = filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(sandbox, p)
		if err == nil && !d.Type().IsRegular() && !d.IsDir() && !contains(before, fmt.Sprintf("%s\t%s", filepath.ToSlash(rel), d.Type())) {
			t.Fatalf("untar created a non-regular entry %q (%s)", p, d.Type())
		}
		return nil
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// genTree writes n files of size bytes each, spread over subdirectories.
func genTree(t testing.TB, dir string, n, size int) int64 {
	t.Helper()
	body := bytes.Repeat([]byte("gotk artifact bench line\n"), size/25+1)[:size]
	for i := 0; i < n; i++ {
		p := filepath.Join(dir, fmt.Sprintf("d%02d", i%20), fmt.Sprintf("sub%d", i%3), fmt.Sprintf("f%04d.yaml", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return int64(n * size)
}
