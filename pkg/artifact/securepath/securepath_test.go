package securepath

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixture builds:
//
//	<tmp>/outside/secret
//	<tmp>/root/sub/file
//	<tmp>/root/in      -> sub            (inside)
//	<tmp>/root/inabs   -> <tmp>/root/sub (absolute: refused by os.Root)
//	<tmp>/root/up      -> sub/..         (resolves to root itself)
//	<tmp>/root/out     -> ../outside     (escapes)
//	<tmp>/root/abs     -> /etc           (escapes)
//	<tmp>/root/sub/deep -> ../../outside (escapes)
//	<tmp>/root/loop    -> loop
//	<tmp>/root/chain   -> in/../out      (escapes via another link)
func fixture(t testing.TB) (root, outside string) {
	t.Helper()
	tmp := t.TempDir()
	root = filepath.Join(tmp, "root")
	outside = filepath.Join(tmp, "outside")
	for _, d := range []string{filepath.Join(root, "sub"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	must(t, os.WriteFile(filepath.Join(root, "sub", "file"), []byte("x"), 0o644))
	must(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644))
	links := map[string]string{
		"in":       "sub",
		"inabs":    filepath.Join(root, "sub"),
		"up":       "sub/..",
		"out":      "../outside",
		"abs":      "/etc",
		"sub/deep": "../../outside",
		"loop":     "loop",
		"chain":    "in/../out",
	}
	for name, target := range links {
		must(t, os.Symlink(target, filepath.Join(root, name)))
	}
	return root, outside
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestClean is the lexical check every operation starts with.
func TestClean(t *testing.T) {
	tests := []struct {
		in, want, err string
		escape        bool
	}{
		{in: "a/b/../c", want: "a/c"},
		{in: "./a//b/", want: "a/b"},
		{in: ".", want: "."},
		{in: "a/..", want: "."},
		{in: "", err: `path "": empty path`},
		{in: "a\x00b", err: "NUL byte"},
		{in: "/etc/passwd", err: `path "/etc/passwd": absolute path not allowed`, escape: true},
		{in: `\windows`, err: "absolute path not allowed", escape: true},
		{in: "C:x", err: "absolute path not allowed", escape: true},
		{in: "..", err: `path "..": path escapes root`, escape: true},
		{in: "a/../../b", err: `path "a/../../b": path escapes root`, escape: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Clean(tt.in)
			if tt.err == "" {
				if err != nil || got != tt.want {
					t.Fatalf("Clean(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Clean(%q) error = %v; want %q", tt.in, err, tt.err)
			}
			if errors.Is(err, ErrEscape) != tt.escape {
				t.Fatalf("Clean(%q): errors.Is(ErrEscape) = %v", tt.in, !tt.escape)
			}
		})
	}
}

// TestRoot opens, creates and stats paths under the fixture root: links
// inside are followed, every way out is refused naming the path.
func TestRoot(t *testing.T) {
	rootDir, outside := fixture(t)
	r, err := OpenRoot(rootDir)
	must(t, err)
	defer r.Close()
	tests := []struct {
		path string
		// read is the content Open/ReadFile must see ("" = refused).
		read string
		// err is the refusal's text; escape whether it wraps ErrEscape.
		err    string
		escape bool
	}{
		{path: "sub/file", read: "x"},
		{path: "in/file", read: "x"},
		{path: "up/sub/file", read: "x"},
		{path: "sub/../sub/file", read: "x"},
		{path: "../outside/secret", err: `path "../outside/secret": path escapes root`, escape: true},
		{path: "/etc/passwd", err: "absolute path not allowed", escape: true},
		{path: "out/secret", err: `path "out/secret": resolves outside root through a symlink`, escape: true},
		{path: "sub/deep/secret", err: `path "sub/deep/secret": resolves outside root through a symlink`, escape: true},
		{path: "chain/secret", err: "resolves outside root", escape: true},
		{path: "abs/passwd", err: "resolves outside root", escape: true},
		{path: "inabs/file", err: "resolves outside root", escape: true},
		{path: "loop/x", err: "too many levels of symbolic links"},
		{path: "sub/missing", err: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			b, err := r.ReadFile(tt.path)
			f, oerr := r.Open(tt.path)
			if oerr == nil {
				f.Close()
			}
			if tt.err == "" {
				if err != nil || string(b) != tt.read || oerr != nil {
					t.Fatalf("ReadFile(%q) = %q, %v (Open: %v); want %q", tt.path, b, err, oerr, tt.read)
				}
				return
			}
			for _, e := range []error{err, oerr} {
				if e == nil || !strings.Contains(e.Error(), tt.err) {
					t.Fatalf("%q: error = %v; want %q", tt.path, e, tt.err)
				}
				if errors.Is(e, ErrEscape) != tt.escape {
					t.Fatalf("%q: errors.Is(%v, ErrEscape) = %v", tt.path, e, !tt.escape)
				}
			}
		})
	}

	// Writes: inside works (through an inside link too), out is refused
	// and nothing appears outside.
	must(t, r.MkdirAll("new/dir", 0o755))
	must(t, r.WriteFile("in/new.txt", []byte("n"), 0o644))
	if b, err := os.ReadFile(filepath.Join(rootDir, "sub", "new.txt")); err != nil || string(b) != "n" {
		t.Fatalf("write through an inside link: %q, %v", b, err)
	}
	for _, bad := range []string{"out/new", "sub/deep/new", "../outside/new", "chain/new"} {
		if err := r.WriteFile(bad, []byte("x"), 0o644); !errors.Is(err, ErrEscape) {
			t.Fatalf("WriteFile(%q) = %v; want an escape", bad, err)
		}
		if err := r.MkdirAll(bad+"/d", 0o755); !errors.Is(err, ErrEscape) {
			t.Fatalf("MkdirAll(%q) = %v; want an escape", bad, err)
		}
	}
	if err := r.RemoveAll("."); err == nil || !strings.Contains(err.Error(), "names the root itself") {
		t.Fatalf("RemoveAll(.) = %v", err)
	}
	if err := r.RemoveAll("out"); err != nil {
		t.Fatalf("RemoveAll removes the link itself: %v", err)
	}
	entries, err := os.ReadDir(outside)
	must(t, err)
	if len(entries) != 1 {
		t.Fatalf("the outside directory changed: %v", entries)
	}

	// A sub-root confines as its parent does; Rename stays inside.
	sub, err := r.OpenRoot("in")
	must(t, err)
	defer sub.Close()
	if _, err := sub.ReadFile("../sub/file"); !errors.Is(err, ErrEscape) {
		t.Fatalf("sub-root escape: %v", err)
	}
	must(t, r.Rename("new", "sub/moved"))
	if fi, err := r.Stat("sub/moved/dir"); err != nil || !fi.IsDir() {
		t.Fatalf("rename: %v", err)
	}
	if err := r.Rename("sub/moved", "../outside/moved"); !errors.Is(err, ErrEscape) {
		t.Fatalf("rename out: %v", err)
	}
	if _, err := fs.ReadFile(r.FS(), "sub/file"); err != nil {
		t.Fatalf("FS: %v", err)
	}
}

// TestRootSwap: a directory swapped for a symlink to the outside after
// it was created is refused when used (no check-then-open window).
func TestRootSwap(t *testing.T) {
	rootDir, outside := fixture(t)
	r, err := OpenRoot(rootDir)
	must(t, err)
	defer r.Close()
	must(t, r.MkdirAll("extract/dir", 0o755))
	must(t, os.RemoveAll(filepath.Join(rootDir, "extract", "dir")))
	must(t, os.Symlink(outside, filepath.Join(rootDir, "extract", "dir")))
	if err := r.WriteFile("extract/dir/secret", []byte("overwritten"), 0o644); !errors.Is(err, ErrEscape) {
		t.Fatalf("write through a swapped directory: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "secret")); string(b) != "s" {
		t.Fatalf("outside file changed: %q", b)
	}
}

// FuzzRoot runs arbitrary paths through the Root's operations over the
// fixture: nothing outside the root is ever read, written or created.
func FuzzRoot(f *testing.F) {
	for _, s := range []string{"sub/file", "../outside/secret", "out/secret", "sub/deep/secret", "chain/x", "loop",
		"/etc/passwd", "a/../../b", "in/../out/secret", "up/../..", "", ".", "x\x00y", `C:\x`, "sub/./../in/file"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		rootDir, outside := fixture(t)
		r, err := OpenRoot(rootDir)
		must(t, err)
		defer r.Close()
		if b, err := r.ReadFile(p); err == nil && string(b) == "s" {
			t.Fatalf("read the outside secret through %q", p)
		}
		_ = r.MkdirAll(p, 0o755)
		_ = r.WriteFile(p, []byte("fuzz"), 0o644)
		_ = r.RemoveAll(p)
		entries, err := os.ReadDir(outside)
		must(t, err)
		if len(entries) != 1 {
			t.Fatalf("%q changed the outside directory: %v", p, entries)
		}
		if b, err := os.ReadFile(filepath.Join(outside, "secret")); err != nil || string(b) != "s" {
			t.Fatalf("%q changed the outside secret: %q, %v", p, b, err)
		}
	})
}
