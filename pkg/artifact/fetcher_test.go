package artifact

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gotk.dev/pkg/artifact/tarball"
)

// testArchive returns a small artifact tarball and its sha256 digest.
func testArchive(t *testing.T) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	if err := tarball.Archive(&buf, srcTree(t), nil); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), "sha256:" + hex.EncodeToString(sum[:])
}

func fastFetcher() *Fetcher {
	return &Fetcher{Retries: 3, Timeout: 2 * time.Second, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
}

// flaky serves data after failing the first n requests with code.
func flaky(data []byte, n int32, code int, hits *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= n {
			http.Error(w, "try again", code)
			return
		}
		_, _ = w.Write(data)
	})
}

func emptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("%s is not empty: %d entries", dir, len(entries))
	}
}

func TestFetch(t *testing.T) {
	data, digest := testArchive(t)
	sum512 := sha512.Sum512(data)
	tests := []struct {
		name     string
		handler  func(hits *atomic.Int32) http.Handler
		digest   string
		fetcher  func() *Fetcher
		wantHits int32
		wantErr  string
		is       error
	}{
		{
			name:     "ok",
			handler:  func(h *atomic.Int32) http.Handler { return flaky(data, 0, 0, h) },
			wantHits: 1,
		},
		{
			name:     "sha512 digest",
			handler:  func(h *atomic.Int32) http.Handler { return flaky(data, 0, 0, h) },
			digest:   "sha512:" + hex.EncodeToString(sum512[:]),
			wantHits: 1,
		},
		{
			name:     "retry after 503 then success",
			handler:  func(h *atomic.Int32) http.Handler { return flaky(data, 2, http.StatusServiceUnavailable, h) },
			wantHits: 3,
		},
		{
			name:     "503 until retries run out",
			handler:  func(h *atomic.Int32) http.Handler { return flaky(data, 100, http.StatusServiceUnavailable, h) },
			wantHits: 4,
			wantErr:  "download: giving up after 4 attempts: server returned 503 Service Unavailable",
		},
		{
			name:     "404 is not retried",
			handler:  func(h *atomic.Int32) http.Handler { return flaky(data, 100, http.StatusNotFound, h) },
			wantHits: 1,
			wantErr:  "download: artifact not found: server returned 404 Not Found",
			is:       ErrNotFound,
		},
		{
			name:     "403 is not retried",
			handler:  func(h *atomic.Int32) http.Handler { return flaky(data, 100, http.StatusForbidden, h) },
			wantHits: 1,
			wantErr:  "download: server returned 403 Forbidden",
		},
		{
			name:     "digest mismatch",
			handler:  func(h *atomic.Int32) http.Handler { return flaky(append([]byte{}, data[:len(data)-1]...), 0, 0, h) },
			wantHits: 1,
			wantErr:  "verify: digest mismatch: expected " + digest + ", got sha256:",
			is:       ErrDigestMismatch,
		},
		{
			name:    "unknown digest algorithm",
			handler: func(h *atomic.Int32) http.Handler { return flaky(data, 0, 0, h) },
			digest:  "md5:d41d8cd98f00b204e9800998ecf8427e",
			wantErr: `digest: invalid digest "md5:d41d8cd98f00b204e9800998ecf8427e": unsupported digest algorithm "md5"`,
		},
		{
			name:    "malformed digest",
			handler: func(h *atomic.Int32) http.Handler { return flaky(data, 0, 0, h) },
			digest:  "sha256:abc",
			wantErr: "want 64 hex characters",
		},
		{
			name:     "too large",
			handler:  func(h *atomic.Int32) http.Handler { return flaky(data, 0, 0, h) },
			fetcher:  func() *Fetcher { f := fastFetcher(); f.MaxDownloadBytes = 16; return f },
			wantHits: 1,
			wantErr:  "download: artifact size",
		},
		{
			name: "too large without content length",
			handler: func(h *atomic.Int32) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					h.Add(1)
					w.(http.Flusher).Flush() // chunked: no Content-Length
					_, _ = w.Write(data)
				})
			},
			fetcher:  func() *Fetcher { f := fastFetcher(); f.MaxDownloadBytes = 16; return f },
			wantHits: 1,
			wantErr:  "download: artifact exceeds the download limit of 16 bytes",
		},
		{
			name: "timeout per attempt",
			handler: func(h *atomic.Int32) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					h.Add(1)
					select {
					case <-r.Context().Done():
					case <-time.After(5 * time.Second):
					}
				})
			},
			fetcher: func() *Fetcher {
				f := fastFetcher()
				f.Retries, f.Timeout = 1, 100*time.Millisecond
				return f
			},
			wantHits: 2,
			wantErr:  "context deadline exceeded",
			is:       context.DeadlineExceeded,
		},
		{
			name:    "untar limits apply",
			handler: func(h *atomic.Int32) http.Handler { return flaky(data, 0, 0, h) },
			fetcher: func() *Fetcher {
				f := fastFetcher()
				f.Limits = tarball.Limits{MaxEntries: 1}
				return f
			},
			wantHits: 1,
			wantErr:  "untar: tar limit exceeded: more than 1 entries",
			is:       tarball.ErrLimitExceeded,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(tt.handler(&hits))
			defer srv.Close()
			f := fastFetcher()
			if tt.fetcher != nil {
				f = tt.fetcher()
			}
			want := digest
			if tt.digest != "" {
				want = tt.digest
			}
			dir := filepath.Join(t.TempDir(), "out")
			url := srv.URL + "/gitrepository/ns/r/abc.tar.gz"
			start := time.Now()
			err := f.Fetch(context.Background(), url, want, dir)
			if got := hits.Load(); got != tt.wantHits {
				t.Errorf("server hit %d times, want %d", got, tt.wantHits)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Fetch: %v", err)
				}
				if b, err := os.ReadFile(filepath.Join(dir, "sub", "b.yaml")); err != nil || string(b) != "b: 2\n" {
					t.Fatalf("extracted b.yaml = %q, %v", b, err)
				}
				return
			}
			t.Logf("error: %v", err)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), "fetch artifact "+url) {
				t.Fatalf("error %q does not name the URL", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("errors.Is(%v) false for %v", tt.is, err)
			}
			if tt.is != tarball.ErrLimitExceeded {
				emptyDir(t, dir) // nothing extracted before verification
			}
			if time.Since(start) > 4*time.Second {
				t.Fatalf("took %v", time.Since(start))
			}
		})
	}
}

func TestFetchHostOverride(t *testing.T) {
	data, digest := testArchive(t)
	var hits atomic.Int32
	srv := httptest.NewServer(flaky(data, 0, 0, &hits))
	defer srv.Close()
	f := fastFetcher()
	f.HostOverride = strings.TrimPrefix(srv.URL, "http://")
	url := "http://source-controller.flux-system.svc.cluster.local./gitrepository/ns/r/abc.tar.gz"
	if err := f.Fetch(context.Background(), url, digest, t.TempDir()); err != nil {
		t.Fatalf("Fetch with override: %v", err)
	}
	f.HostOverride = srv.URL // scheme://host form
	if err := f.Fetch(context.Background(), url, digest, t.TempDir()); err != nil {
		t.Fatalf("Fetch with scheme override: %v", err)
	}
	if hits.Load() != 2 {
		t.Fatalf("hits = %d", hits.Load())
	}
}

func TestFetchCancelledDuringBackoff(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(flaky(nil, 100, http.StatusBadGateway, &hits))
	defer srv.Close()
	f := &Fetcher{Retries: 5, MinBackoff: time.Hour}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := f.Fetch(ctx, srv.URL+"/x.tar.gz", "sha256:"+strings.Repeat("0", 64), t.TempDir())
	if !errors.Is(err, context.DeadlineExceeded) || hits.Load() != 1 {
		t.Fatalf("err %v after %d hits", err, hits.Load())
	}
}
