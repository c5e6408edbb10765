package tarball

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUntarRefuses(t *testing.T) {
	small := Limits{MaxTotalBytes: 1 << 20, MaxFileBytes: 1 << 20, MaxEntries: 10}
	zeros8M := make([]byte, 8<<20)
	tests := []struct {
		name    string
		archive func(t *testing.T) []byte
		limits  Limits
		setup   func(t *testing.T, sandbox, dest string)
		wantErr string
		is      error
	}{
		{
			name:    "dotdot traversal",
			archive: func(t *testing.T) []byte { return gz(t, tarBytes(t, entry{name: "../x", body: "pwned"})) },
			wantErr: `tar entry "../x": path escapes destination`, is: ErrUnsafeEntry,
		},
		{
			name:    "nested traversal",
			archive: func(t *testing.T) []byte { return gz(t, tarBytes(t, entry{name: "a/../../x", body: "pwned"})) },
			wantErr: `tar entry "a/../../x": path escapes destination`, is: ErrUnsafeEntry,
		},
		{
			name:    "deep traversal",
			archive: func(t *testing.T) []byte { return gz(t, tarBytes(t, entry{name: "../../etc/passwd", body: "pwned"})) },
			wantErr: `tar entry "../../etc/passwd": path escapes destination`, is: ErrUnsafeEntry,
		},
		{
			name:    "absolute path",
			archive: func(t *testing.T) []byte { return gz(t, tarBytes(t, entry{name: "/tmp/x", body: "pwned"})) },
			wantErr: `tar entry "/tmp/x": absolute path not allowed`, is: ErrUnsafeEntry,
		},
		{
			name: "symlink pointing outside then write through it",
			archive: func(t *testing.T) []byte {
				return gz(t, tarBytes(t,
					entry{name: "link", typ: tar.TypeSymlink, linkname: "../"},
					entry{name: "link/x", body: "pwned"}))
			},
			wantErr: `tar entry "link": symlink entries are not allowed (target "../")`, is: ErrUnsafeEntry,
		},
		{
			name: "absolute symlink",
			archive: func(t *testing.T) []byte {
				return gz(t, tarBytes(t, entry{name: "etc", typ: tar.TypeSymlink, linkname: "/etc"}))
			},
			wantErr: `symlink entries are not allowed`, is: ErrUnsafeEntry,
		},
		{
			name: "hardlink outside",
			archive: func(t *testing.T) []byte {
				return gz(t, tarBytes(t, entry{name: "passwd", typ: tar.TypeLink, linkname: "/etc/passwd"}))
			},
			wantErr: `tar entry "passwd": hardlink entries are not allowed (target "/etc/passwd")`, is: ErrUnsafeEntry,
		},
		{
			name: "char device",
			archive: func(t *testing.T) []byte {
				return gz(t, tarBytes(t, entry{name: "null", typ: tar.TypeChar}))
			},
			wantErr: `tar entry "null": device and fifo entries are not allowed`, is: ErrUnsafeEntry,
		},
		{
			name:    "fifo",
			archive: func(t *testing.T) []byte { return gz(t, tarBytes(t, entry{name: "p", typ: tar.TypeFifo})) },
			wantErr: `device and fifo entries are not allowed`, is: ErrUnsafeEntry,
		},
		{
			name: "existing symlink in destination escapes",
			setup: func(t *testing.T, sandbox, dest string) {
				if err := os.MkdirAll(dest, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink("..", filepath.Join(dest, "out")); err != nil {
					t.Fatal(err)
				}
			},
			archive: func(t *testing.T) []byte { return gz(t, tarBytes(t, entry{name: "out/x", body: "pwned"})) },
			wantErr: `tar entry "out/x": resolves outside destination through a symlink`, is: ErrUnsafeEntry,
		},
		{
			name:   "oversized file",
			limits: Limits{MaxFileBytes: 1024},
			archive: func(t *testing.T) []byte {
				return gz(t, tarBytes(t, entry{name: "big", body: strings.Repeat("x", 2048)}))
			},
			wantErr: `tar entry "big": file size 2048 exceeds the limit of 1024 bytes`, is: ErrLimitExceeded,
		},
		{
			name:   "header claims 1 TiB",
			limits: small,
			archive: func(t *testing.T) []byte {
				return gz(t, append(rawHeader("huge", tar.TypeReg, 4<<30), make([]byte, 4096)...))
			},
			wantErr: `tar entry "huge": file size 4294967296 exceeds the limit of 1048576 bytes`, is: ErrLimitExceeded,
		},
		{
			name:   "tar bomb by count",
			limits: small,
			archive: func(t *testing.T) []byte {
				var es []entry
				for i := 0; i < 11; i++ {
					es = append(es, entry{name: strings.Repeat("f", i+1), body: "x"})
				}
				return gz(t, tarBytes(t, es...))
			},
			wantErr: `more than 10 entries`, is: ErrLimitExceeded,
		},
		{
			name:   "gzip bomb: compressible file beyond total",
			limits: Limits{MaxTotalBytes: 1 << 20},
			archive: func(t *testing.T) []byte {
				b := gz(t, tarBytes(t, entry{name: "zeros", body: string(zeros8M)}))
				if len(b) > 64<<10 {
					t.Fatalf("bomb is not compact: %d bytes", len(b))
				}
				return b
			},
			wantErr: `tar entry "zeros": total extracted size would exceed the limit of 1048576 bytes`, is: ErrLimitExceeded,
		},
		{
			name:   "gzip bomb: many files beyond total",
			limits: Limits{MaxTotalBytes: 1 << 20},
			archive: func(t *testing.T) []byte {
				var es []entry
				for _, n := range []string{"a", "b", "c"} {
					es = append(es, entry{name: n, body: string(zeros8M[:512<<10])})
				}
				return gz(t, tarBytes(t, es...))
			},
			wantErr: `tar entry "c": total extracted size would exceed`, is: ErrLimitExceeded,
		},
		{
			name:    "gzip bomb: endless pax headers",
			limits:  Limits{MaxTotalBytes: 64 << 10, MaxEntries: 16},
			archive: func(t *testing.T) []byte { return gz(t, paxFlood(4096)) },
			wantErr: `decompressed stream exceeds`, is: ErrLimitExceeded,
		},
		{
			name:    "file named like the destination",
			archive: func(t *testing.T) []byte { return gz(t, tarBytes(t, entry{name: ".", typ: tar.TypeReg})) },
			wantErr: `file entry names the destination itself`,
		},
		{
			name:    "corrupt gzip",
			archive: func(t *testing.T) []byte { return []byte{0x1f, 0x8b, 0, 0, 1, 2, 3} },
			wantErr: `gzip:`,
		},
		{
			name: "truncated gzip",
			archive: func(t *testing.T) []byte {
				b := gz(t, tarBytes(t, entry{name: "a", body: strings.Repeat("abc", 1000)}))
				return b[:len(b)/2]
			},
			wantErr: `unexpected EOF`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sandbox := t.TempDir()
			dest := filepath.Join(sandbox, "dest")
			if tt.setup != nil {
				tt.setup(t, sandbox, dest)
			}
			before := snapshot(t, sandbox)
			err := Untar(bytes.NewReader(tt.archive(t)), dest, tt.limits)
			if err == nil {
				t.Fatalf("Untar succeeded, want error %q", tt.wantErr)
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("error %q: errors.Is(%v) = false", err, tt.is)
			}
			assertContained(t, sandbox, dest, before)
		})
	}
}

func TestUntarAccepts(t *testing.T) {
	tests := []struct {
		name   string
		data   func(t *testing.T) []byte
		limits Limits
		want   map[string]string // file -> content
		absent []string
	}{
		{
			name: "plain tar, no gzip",
			data: func(t *testing.T) []byte { return tarBytes(t, entry{name: "a.yaml", body: "a"}) },
			want: map[string]string{"a.yaml": "a"},
		},
		{
			name: "dot entries and harmless dotdot",
			data: func(t *testing.T) []byte {
				return gz(t, tarBytes(t,
					entry{name: "./", typ: tar.TypeDir},
					entry{name: "./x/", typ: tar.TypeDir},
					entry{name: "x/../y.txt", body: "y"}))
			},
			want: map[string]string{"y.txt": "y"},
		},
		{
			name:   "links skipped when allowed",
			limits: Limits{SkipLinks: true},
			data: func(t *testing.T) []byte {
				return gz(t, tarBytes(t,
					entry{name: "link", typ: tar.TypeSymlink, linkname: "../"},
					entry{name: "hard", typ: tar.TypeLink, linkname: "/etc/passwd"},
					entry{name: "link/x", body: "stays inside"}))
			},
			want:   map[string]string{"link/x": "stays inside"},
			absent: []string{"hard"},
		},
		{
			name:   "exactly at the limits",
			limits: Limits{MaxTotalBytes: 8, MaxFileBytes: 4, MaxEntries: 2},
			data: func(t *testing.T) []byte {
				return gz(t, tarBytes(t, entry{name: "a", body: "1234"}, entry{name: "b", body: "5678"}))
			},
			want: map[string]string{"a": "1234", "b": "5678"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sandbox := t.TempDir()
			dest := filepath.Join(sandbox, "dest")
			if err := Untar(bytes.NewReader(tt.data(t)), dest, tt.limits); err != nil {
				t.Fatalf("Untar: %v", err)
			}
			for name, body := range tt.want {
				got, err := os.ReadFile(filepath.Join(dest, name))
				if err != nil || string(got) != body {
					t.Fatalf("%s = %q, %v; want %q", name, got, err, body)
				}
			}
			for _, name := range tt.absent {
				if _, err := os.Lstat(filepath.Join(dest, name)); err == nil {
					t.Fatalf("%s exists, want it skipped", name)
				}
			}
			assertContained(t, sandbox, dest, nil)
		})
	}
}

func TestDefaultLimits(t *testing.T) {
	l := DefaultLimits()
	if l.MaxTotalBytes != 100<<20 || l.MaxFileBytes != 100<<20 || l.MaxEntries != 100_000 {
		t.Fatalf("DefaultLimits() = %+v", l)
	}
	if (Limits{}).withDefaults() != l {
		t.Fatalf("zero Limits do not take the defaults")
	}
}

// FuzzUntar checks that no input makes Untar panic or write outside the
// destination, or create anything but directories and regular files.
func FuzzUntar(f *testing.F) {
	seeds := [][]entry{
		{{name: "a/b.yaml", body: "ok"}, {name: "c/", typ: tar.TypeDir}},
		{{name: "../x", body: "x"}},
		{{name: "a/../../x", body: "x"}},
		{{name: "/tmp/abs", body: "x"}},
		{{name: "l", typ: tar.TypeSymlink, linkname: "../"}, {name: "l/x", body: "x"}},
		{{name: "l", typ: tar.TypeSymlink, linkname: "/tmp"}},
		{{name: "h", typ: tar.TypeLink, linkname: "../../etc/passwd"}},
		{{name: "dev", typ: tar.TypeBlock}},
		{{name: "fifo", typ: tar.TypeFifo}},
		{{name: "x", body: "1"}, {name: "x/", typ: tar.TypeDir}},
		{{name: "d/", typ: tar.TypeDir}, {name: "d", body: "file over dir"}},
		{{name: "exec.sh", body: "#!/bin/sh", mode: 0o4755}},
	}
	for _, s := range seeds {
		raw := tarBytes(f, s...)
		f.Add(raw)
		f.Add(gz(f, raw))
	}
	f.Add(rawHeader("huge", tar.TypeReg, 4<<30))
	f.Add(gz(f, paxFlood(64)))
	f.Add([]byte{0x1f, 0x8b})
	f.Add([]byte{})

	limits := Limits{MaxTotalBytes: 1 << 20, MaxFileBytes: 512 << 10, MaxEntries: 64}
	f.Fuzz(func(t *testing.T, data []byte) {
		sandbox := t.TempDir()
		dest := filepath.Join(sandbox, "dest")
		_ = Untar(bytes.NewReader(data), dest, limits)
		assertContained(t, sandbox, dest, nil)
	})
}
