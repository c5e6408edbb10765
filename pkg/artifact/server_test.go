package artifact

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestServer(t *testing.T) {
	s := newTestStorage(t)
	art := s.NewArtifactFor("OCIRepository", obj("ns", "app"), "v1@sha256:x", "abc.tar.gz")
	if err := s.AtomicWriteFile(&art, strings.NewReader("artifact-bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Symlink(art, "latest.tar.gz"); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(s.BasePath, "ocirepository", "ns", "app")
	if err := os.WriteFile(filepath.Join(dir, ".tmp-abc.tar.gz-1"), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "escape.tar.gz")); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewServer(s))
	defer srv.Close()

	tests := []struct {
		method, path string
		code         int
		body         string
	}{
		{"GET", "/ocirepository/ns/app/abc.tar.gz", 200, "artifact-bytes"},
		{"HEAD", "/ocirepository/ns/app/abc.tar.gz", 200, ""},
		{"GET", "/ocirepository/ns/app/latest.tar.gz", 200, "artifact-bytes"},
		{"GET", "/", 404, ""},
		{"GET", "/ocirepository/ns/app/", 404, ""},
		{"GET", "/ocirepository/ns/app", 404, ""},
		{"GET", "/ocirepository/ns/app/.tmp-abc.tar.gz-1", 404, ""},
		{"GET", "/ocirepository/ns/app/escape.tar.gz", 404, ""},
		{"GET", "/ocirepository/ns/app/missing.tar.gz", 404, ""},
		{"GET", "/../../etc/passwd", 404, ""},
		{"POST", "/ocirepository/ns/app/abc.tar.gz", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.code {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tt.code, b)
			}
			if tt.code == 200 && string(b) != tt.body {
				t.Fatalf("body %q, want %q", b, tt.body)
			}
			if tt.code == 404 && strings.Contains(string(b), "<a href") {
				t.Fatalf("got a listing: %q", b)
			}
		})
	}

	// The artifact URL path resolves against the server.
	resp, err := http.Get(srv.URL + "/" + art.Path)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET artifact path: %v %v", resp, err)
	}
	resp.Body.Close()
}
