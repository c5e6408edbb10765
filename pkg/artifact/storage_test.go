package artifact

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gotk.dev/pkg/artifact/securepath"
	"gotk.dev/pkg/artifact/tarball"
)

func newTestStorage(t *testing.T) *Storage {
	t.Helper()
	s, err := NewStorage(t.TempDir(), "source-controller.flux-system.svc.cluster.local.", 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func obj(ns, name string) *metav1.ObjectMeta {
	return &metav1.ObjectMeta{Namespace: ns, Name: name}
}

func srcTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"a.yaml": "a: 1\n", "sub/b.yaml": "b: 2\n", ".git/config": "x"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestNewArtifactFor(t *testing.T) {
	tests := []struct{ host, wantURL string }{
		{"source-controller.flux-system.svc.cluster.local.", "http://source-controller.flux-system.svc.cluster.local./gitrepository/flux-system/podinfo/abc.tar.gz"},
		{"localhost:9090", "http://localhost:9090/gitrepository/flux-system/podinfo/abc.tar.gz"},
		{"https://artifacts.example.com/", "https://artifacts.example.com/gitrepository/flux-system/podinfo/abc.tar.gz"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/gitrepository/flux-system/podinfo/abc.tar.gz"},
	}
	for _, tt := range tests {
		s := &Storage{BasePath: t.TempDir(), Hostname: tt.host}
		art := s.NewArtifactFor("GitRepository", obj("flux-system", "podinfo"), "main@sha1:abc", "abc.tar.gz")
		if art.Path != "gitrepository/flux-system/podinfo/abc.tar.gz" || art.URL != tt.wantURL || art.Revision != "main@sha1:abc" {
			t.Fatalf("host %q: got %+v", tt.host, art)
		}
	}
}

func TestStorageArchive(t *testing.T) {
	s := newTestStorage(t)
	src := srcTree(t)
	art := s.NewArtifactFor("GitRepository", obj("ns", "repo"), "main@sha1:1", "1.tar.gz")
	skipGit := func(p string, fi os.FileInfo) bool { return fi.Name() == ".git" }
	if err := s.Archive(&art, src, skipGit); err != nil {
		t.Fatalf("Archive: %v", err)
	}
	p, err := s.LocalPath(art)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(s.BasePath, "gitrepository", "ns", "repo", "1.tar.gz"); p != want {
		t.Fatalf("LocalPath = %s, want %s", p, want)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if want := "sha256:" + hex.EncodeToString(sum[:]); art.Digest != want {
		t.Fatalf("Digest = %s, want %s", art.Digest, want)
	}
	if art.Size == nil || *art.Size != int64(len(data)) {
		t.Fatalf("Size = %v, want %d", art.Size, len(data))
	}
	if art.LastUpdateTime.IsZero() || !s.ArtifactExist(art) {
		t.Fatal("LastUpdateTime unset or artifact missing")
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v", fi.Mode())
	}
	// No temporary files left behind.
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Fatalf("artifact dir holds %d entries, want 1", len(entries))
	}
	if err := s.VerifyArtifact(art); err != nil {
		t.Fatalf("VerifyArtifact: %v", err)
	}
	// Same tree, same digest.
	again := art
	if err := s.Archive(&again, src, skipGit); err != nil || again.Digest != art.Digest {
		t.Fatalf("re-archive digest %s (%v), want %s", again.Digest, err, art.Digest)
	}
	// Tampering is detected.
	if err := os.WriteFile(p, append(data, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyArtifact(art); err == nil || !strings.Contains(err.Error(), "digest mismatch") {
		t.Fatalf("VerifyArtifact after tamper: %v", err)
	}
	// Extracting the archive gives the tree without .git.
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := tarball.Untar(f, dest, tarball.DefaultLimits()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dest, ".git")); err == nil {
		t.Fatal(".git archived despite filter")
	}
}

func TestStorageArchiveFailureKeepsOld(t *testing.T) {
	s := newTestStorage(t)
	art := s.NewArtifactFor("Bucket", obj("ns", "b"), "r1", "x.tar.gz")
	if err := s.AtomicWriteFile(&art, strings.NewReader("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := art
	if err := s.Archive(&art, filepath.Join(t.TempDir(), "missing"), nil); err == nil {
		t.Fatal("Archive of a missing dir succeeded")
	}
	p, _ := s.LocalPath(art)
	if b, _ := os.ReadFile(p); string(b) != "old" || art.Digest != old.Digest {
		t.Fatalf("failed write clobbered the artifact: %q %s", b, art.Digest)
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Fatalf("temporary file left behind: %d entries", len(entries))
	}
}

func TestStorageCopyAndSymlink(t *testing.T) {
	s := newTestStorage(t)
	s.DigestAlgorithm = SHA512
	src := filepath.Join(t.TempDir(), "index.yaml")
	if err := os.WriteFile(src, []byte("apiVersion: v1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	art := s.NewArtifactFor("HelmRepository", obj("ns", "h"), "sha256:x", "index-x.yaml")
	if err := s.CopyFromPath(&art, src); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(art.Digest, "sha512:") || s.VerifyArtifact(art) != nil {
		t.Fatalf("digest %s", art.Digest)
	}
	url, err := s.Symlink(art, "index.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if url != "http://source-controller.flux-system.svc.cluster.local./helmrepository/ns/h/index.yaml" {
		t.Fatalf("symlink URL %s", url)
	}
	p, _ := s.LocalPath(art)
	if target, err := os.Readlink(filepath.Join(filepath.Dir(p), "index.yaml")); err != nil || target != "index-x.yaml" {
		t.Fatalf("link target %q, %v", target, err)
	}
	for _, bad := range []string{"", "../x", ".hidden", "a/b"} {
		if _, err := s.Symlink(art, bad); err == nil {
			t.Fatalf("Symlink(%q) succeeded", bad)
		}
	}
}

func TestStorageCopyToPath(t *testing.T) {
	s := newTestStorage(t)
	art := s.NewArtifactFor("GitRepository", obj("ns", "r"), "r", "r.tar.gz")
	if err := s.Archive(&art, srcTree(t), nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dst, err := securepath.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if err := s.CopyToPath(art, "sub", dst, "deps/chart"); err == nil {
		t.Fatal("CopyToPath into a missing parent succeeded")
	}
	if err := dst.MkdirAll("deps", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.CopyToPath(art, "sub", dst, "deps/chart"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "deps", "chart", "b.yaml")); err != nil || string(b) != "b: 2\n" {
		t.Fatalf("b.yaml = %q, %v", b, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "deps")); len(entries) != 1 {
		t.Fatalf("temporary directory left behind: %v", entries)
	}
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ from, to, err string }{
		{from: "../../etc", to: "x", err: `path "../../etc": path escapes root`},
		{from: "/etc", to: "x", err: "absolute path not allowed"},
		{from: "sub", to: "../x", err: `invalid toPath "../x"`},
		{from: "sub", to: ".", err: `invalid toPath "."`},
		{from: "sub", to: "out/x", err: "resolves outside root through a symlink"},
	} {
		if err := s.CopyToPath(art, tc.from, dst, tc.to); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Fatalf("CopyToPath(%q, %q) = %v; want %q", tc.from, tc.to, err, tc.err)
		}
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("CopyToPath wrote outside: %v", entries)
	}
}

func TestStoragePathSafety(t *testing.T) {
	s := newTestStorage(t)
	for _, p := range []string{"", "/etc/passwd", "../x", "a/../../x", "."} {
		art := meta.Artifact{Path: p}
		if _, err := s.LocalPath(art); err == nil {
			t.Fatalf("LocalPath(%q) succeeded", p)
		}
		if err := s.AtomicWriteFile(&art, strings.NewReader("x"), 0o644); err == nil {
			t.Fatalf("AtomicWriteFile(%q) succeeded", p)
		}
	}
}

// writeAged writes name in art's dir with an mtime age ago.
func writeAged(t *testing.T, s *Storage, art meta.Artifact, name string, age time.Duration) string {
	t.Helper()
	p, _ := s.LocalPath(art)
	f := filepath.Join(filepath.Dir(p), name)
	if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, []byte(name), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := time.Now().Add(-age)
	if err := os.Chtimes(f, ts, ts); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestGarbageCollect(t *testing.T) {
	tests := []struct {
		name    string
		records int
		ttl     time.Duration
		want    []string // deleted base names, sorted
	}{
		{"keep 2, no ttl", 2, 0, []string{"1.tar.gz", "2.tar.gz", "3.tar.gz"}},
		{"keep 3, no ttl", 3, 0, []string{"1.tar.gz", "2.tar.gz"}},
		{"keep 1", 1, 0, []string{"1.tar.gz", "2.tar.gz", "3.tar.gz", "4.tar.gz"}},
		{"keep 2, ttl spares young", 2, 90 * time.Minute, []string{"1.tar.gz", "2.tar.gz"}},
		{"keep 10", 10, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStorage(t)
			s.RetentionRecords, s.RetentionTTL = tt.records, tt.ttl
			art := s.NewArtifactFor("OCIRepository", obj("ns", "o"), "r", "cur.tar.gz")
			// 1 oldest … 4 newest; the current artifact is older than some.
			for i, age := range []time.Duration{4 * time.Hour, 3 * time.Hour, time.Hour, time.Minute} {
				writeAged(t, s, art, []string{"1", "2", "3", "4"}[i]+".tar.gz", age)
			}
			writeAged(t, s, art, "cur.tar.gz", 5*time.Hour)
			writeAged(t, s, art, "x.lock", 5*time.Hour)
			fresh := writeAged(t, s, art, ".tmp-cur.tar.gz-1", time.Minute)
			stale := writeAged(t, s, art, ".tmp-cur.tar.gz-2", 2*time.Hour)
			if _, err := s.Symlink(art, "latest.tar.gz"); err != nil {
				t.Fatal(err)
			}
			deleted, err := s.GarbageCollect(context.Background(), art, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range deleted {
				if d == stale {
					continue
				}
				got = append(got, filepath.Base(d))
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("deleted %v, want %v", got, tt.want)
			}
			for _, keep := range []string{"cur.tar.gz", "latest.tar.gz", "x.lock", filepath.Base(fresh)} {
				p, _ := s.LocalPath(art)
				if _, err := os.Lstat(filepath.Join(filepath.Dir(p), keep)); err != nil {
					t.Fatalf("%s was collected", keep)
				}
			}
			if _, err := os.Lstat(stale); !os.IsNotExist(err) {
				t.Fatal("stale temporary file kept")
			}
		})
	}
}

func TestGarbageCollectCancelled(t *testing.T) {
	s := newTestStorage(t)
	art := s.NewArtifactFor("Bucket", obj("ns", "b"), "r", "cur.tar.gz")
	writeAged(t, s, art, "old.tar.gz", time.Hour)
	writeAged(t, s, art, "older.tar.gz", 2*time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.GarbageCollect(ctx, art, time.Second); err == nil {
		t.Fatal("want an error from a cancelled context")
	}
}

func TestRemove(t *testing.T) {
	s := newTestStorage(t)
	art := s.NewArtifactFor("GitRepository", obj("ns", "r"), "r", "a.tar.gz")
	if err := s.Copy(&art, bytes.NewReader([]byte("a"))); err != nil {
		t.Fatal(err)
	}
	other := writeAged(t, s, art, "b.tar.gz", time.Hour)
	if deleted, err := s.RemoveAllButCurrent(art); err != nil || len(deleted) != 1 || deleted[0] != other {
		t.Fatalf("RemoveAllButCurrent = %v, %v", deleted, err)
	}
	if err := s.Remove(art); err != nil || s.ArtifactExist(art) {
		t.Fatalf("Remove: %v", err)
	}
	if err := s.Remove(art); err != nil {
		t.Fatalf("Remove of a missing file: %v", err)
	}
	writeAged(t, s, art, "c.tar.gz", 0)
	dir, err := s.RemoveAll(art)
	if err != nil || dir != filepath.Join(s.BasePath, "gitrepository", "ns", "r") {
		t.Fatalf("RemoveAll = %q, %v", dir, err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatal("object dir still exists")
	}
	if dir, err := s.RemoveAll(art); err != nil || dir != "" {
		t.Fatalf("second RemoveAll = %q, %v", dir, err)
	}
	if _, err := os.Stat(filepath.Join(s.BasePath, "gitrepository", "ns")); err != nil {
		t.Fatal("RemoveAll removed more than the object dir")
	}
}

func TestLock(t *testing.T) {
	s := newTestStorage(t)
	art := s.NewArtifactFor("GitRepository", obj("ns", "r"), "r", "a.tar.gz")
	var mu sync.Mutex
	inside, maxInside := 0, 0
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := s.Lock(art)
			if err != nil {
				t.Error(err)
				return
			}
			defer unlock()
			mu.Lock()
			inside++
			maxInside = max(maxInside, inside)
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
			mu.Lock()
			inside--
			mu.Unlock()
		}()
	}
	wg.Wait()
	if maxInside != 1 {
		t.Fatalf("%d holders at once", maxInside)
	}
	if len(dirLocks.m) != 0 {
		t.Fatalf("lock map leaks %d entries", len(dirLocks.m))
	}
}
