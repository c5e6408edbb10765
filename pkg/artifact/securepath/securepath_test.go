package securepath

import (
	"errors"
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
//	<tmp>/root/inabs   -> <tmp>/root/sub (absolute, inside)
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

func TestJoin(t *testing.T) {
	root, _ := fixture(t)
	tests := []struct {
		in      string
		want    string // relative to root, when no error
		wantErr string // substring of the error
		escape  bool   // error must wrap ErrEscape
	}{
		{in: "a/b.yaml", want: "a/b.yaml"},
		{in: "./a//b/", want: "a/b"},
		{in: ".", want: ""},
		{in: "a/../b", want: "b"},
		{in: "sub/file", want: "sub/file"},
		{in: "in/file", want: "sub/file"},
		{in: "inabs/file", want: "sub/file"},
		{in: "up/sub/file", want: "sub/file"},
		{in: "in/new/dir", want: "sub/new/dir"},
		{in: "sub/file/x", want: "sub/file/x"},
		{in: "", wantErr: "empty path"},
		{in: "a\x00b", wantErr: "NUL"},
		{in: "../x", wantErr: `path "../x": path escapes root`, escape: true},
		{in: "a/../../x", wantErr: `path "a/../../x": path escapes root`, escape: true},
		{in: "..", wantErr: "escapes root", escape: true},
		{in: "/etc/passwd", wantErr: `path "/etc/passwd": absolute path not allowed`, escape: true},
		{in: `\windows`, wantErr: "absolute path not allowed", escape: true},
		{in: `C:\x`, wantErr: "absolute path not allowed", escape: true},
		{in: "out/secret", wantErr: `symlink "out" resolves outside root`, escape: true},
		{in: "out", wantErr: `symlink "out" resolves outside root`, escape: true},
		{in: "abs/passwd", wantErr: `symlink "abs" resolves outside root`, escape: true},
		{in: "sub/deep/secret", wantErr: `symlink "sub/deep" resolves outside root`, escape: true},
		{in: "in/deep", wantErr: `symlink "sub/deep" resolves outside root`, escape: true},
		{in: "chain/secret", wantErr: "resolves outside root", escape: true},
		{in: "loop/x", wantErr: "too many levels of symbolic links"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Join(root, tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("Join(%q) = %q, want error containing %q", tt.in, got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Join(%q) error %q, want it to contain %q", tt.in, err, tt.wantErr)
				}
				if tt.escape != errors.Is(err, ErrEscape) {
					t.Fatalf("Join(%q) errors.Is(ErrEscape) = %v, want %v", tt.in, !tt.escape, tt.escape)
				}
				return
			}
			if err != nil {
				t.Fatalf("Join(%q): %v", tt.in, err)
			}
			want := filepath.Join(root, tt.want)
			if got != want {
				t.Fatalf("Join(%q) = %q, want %q", tt.in, got, want)
			}
		})
	}
}

func TestJoinEmptyRoot(t *testing.T) {
	if _, err := Join("", "a"); err == nil {
		t.Fatal("want error for empty root")
	}
}

// assertInside checks that p, resolved by the OS as far as it exists, stays
// under root.
func assertInside(t testing.TB, root, in, p string) {
	t.Helper()
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := within(root, p); !ok {
		t.Fatalf("Join(%q) = %q: lexically outside %q", in, p, root)
	}
	// Resolve the longest existing prefix.
	existing := p
	for {
		if _, err := os.Lstat(existing); err == nil {
			break
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			return
		}
		existing = parent
	}
	resolved, err := filepath.EvalSymlinks(existing)
	if err != nil {
		return // e.g. loops below an existing prefix: not an escape
	}
	if _, ok := within(realRoot, resolved); !ok {
		t.Fatalf("Join(%q) = %q resolves to %q outside %q", in, p, resolved, realRoot)
	}
}

func FuzzJoin(f *testing.F) {
	for _, s := range []string{
		"a/b", ".", "..", "../x", "a/../../x", "/etc/passwd", `\x`, "C:/x",
		"out/secret", "abs/passwd", "sub/deep/secret", "in/deep", "chain/x",
		"loop/x", "up/../x", "in/../../x", "inabs/../..", "a\x00b", "",
		"in/./../sub/file", "up/up/up", "sub/file/..",
	} {
		f.Add(s)
	}
	root, _ := fixture(f)
	f.Fuzz(func(t *testing.T, in string) {
		p, err := Join(root, in)
		if err != nil {
			return
		}
		assertInside(t, root, in, p)
	})
}
