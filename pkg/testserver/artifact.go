package testserver

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gotk.dev/pkg/artifact/tarball"
	"gotk.dev/pkg/localserver"
)

// ArtifactServer serves gzip tarballs over HTTP on 127.0.0.1, the way
// source-controller serves artifacts: GET /<name> returns the bytes.
// Tarballs are built with gotk's deterministic archiver
// (gotk.dev/pkg/artifact/tarball: sorted entries, zero mtime, uid/gid 0),
// so the same files always give the same digest.
type ArtifactServer struct {
	srv *localserver.HTTPServer

	mu    sync.RWMutex
	blobs map[string][]byte
	hits  map[string]int
}

// NewArtifactServer starts an empty artifact server on 127.0.0.1 at a
// random port.
func NewArtifactServer() (*ArtifactServer, error) {
	a := &ArtifactServer{blobs: map[string][]byte{}, hits: map[string]int{}}
	var err error
	a.srv, err = localserver.StartHTTP(http.HandlerFunc(a.serve), false)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// NewArtifactServerForTest is NewArtifactServer that fails t on error and
// closes the server in t.Cleanup.
func NewArtifactServerForTest(t testing.TB) *ArtifactServer {
	t.Helper()
	a, err := NewArtifactServer()
	return forTest(t, a, err)
}

// AddFiles publishes a tarball holding files (see Tarball) under name
// (e.g. "app.tar.gz" or "gitrepository/default/app/abc.tar.gz"). It
// returns the download URL, the digest "sha256:<hex>" of the tarball bytes
// and their size.
func (a *ArtifactServer) AddFiles(name string, files map[string]string) (url, digest string, size int64, err error) {
	data, err := Tarball(files)
	if err != nil {
		return "", "", 0, err
	}
	return a.AddBytes(name, data)
}

// Tarball returns a gzip tarball, as the controllers store artifacts,
// holding files (slash-separated relative path -> content, mode 0644).
func Tarball(files map[string]string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "gotk-artifact-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for p, content := range files {
		clean, err := localserver.CleanRepoPath(p)
		if err != nil {
			return nil, err
		}
		full := filepath.Join(dir, filepath.FromSlash(clean))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if err := tarball.Archive(&buf, dir, nil); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// AddDir publishes a tarball of the directory tree dir under name and
// returns the download URL, digest and size (see AddFiles).
func (a *ArtifactServer) AddDir(name, dir string) (url, digest string, size int64, err error) {
	var buf bytes.Buffer
	if err := tarball.Archive(&buf, dir, nil); err != nil {
		return "", "", 0, err
	}
	url, digest, size, err = a.AddBytes(name, buf.Bytes())
	return url, digest, size, err
}

// AddBytes publishes data as is under name (useful for corrupt or
// oversized artifacts) and returns the download URL, digest and size.
func (a *ArtifactServer) AddBytes(name string, data []byte) (url, digest string, size int64, err error) {
	key, err := artifactKey(name)
	if err != nil {
		return "", "", 0, err
	}
	a.mu.Lock()
	a.blobs[key] = append([]byte(nil), data...)
	a.mu.Unlock()
	return a.URL(key), Digest(data), int64(len(data)), nil
}

// Remove stops serving name; later downloads get 404.
func (a *ArtifactServer) Remove(name string) {
	key, err := artifactKey(name)
	if err != nil {
		return
	}
	a.mu.Lock()
	delete(a.blobs, key)
	a.mu.Unlock()
}

// Downloads returns how many successful GETs name has served.
func (a *ArtifactServer) Downloads(name string) int {
	key, _ := artifactKey(name)
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.hits[key]
}

// URL returns the download URL of name.
func (a *ArtifactServer) URL(name string) string {
	return a.srv.URL + "/" + strings.TrimPrefix(name, "/")
}

// BaseURL returns the server's root URL.
func (a *ArtifactServer) BaseURL() string { return a.srv.URL }

// Close stops the server.
func (a *ArtifactServer) Close() { a.srv.Close() }

// Digest returns "sha256:<hex>" of data, the artifact digest format.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (a *ArtifactServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	key, err := artifactKey(r.URL.Path)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	a.mu.Lock()
	data, ok := a.blobs[key]
	if ok && r.Method == http.MethodGet {
		a.hits[key]++
	}
	a.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/gzip")
	http.ServeContent(w, r, path.Base(key), time.Time{}, bytes.NewReader(data))
}

func artifactKey(name string) (string, error) {
	clean := path.Clean("/" + name)[1:]
	if clean == "" {
		return "", fmt.Errorf("invalid artifact name %q", name)
	}
	return clean, nil
}
