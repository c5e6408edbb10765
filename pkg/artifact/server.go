package artifact

import (
	"net/http"
	"os"
	"path"
	"strings"

	"gotk.dev/pkg/artifact/securepath"
)

// NewServer returns an HTTP handler that serves the files under
// storage.BasePath at their storage-relative paths (the artifact URL
// path). Only GET and HEAD of regular files are answered; directories
// (no listings), dotfiles (including in-progress writes), paths escaping
// the base and symlinks leading outside it get 404. Symlinks inside the
// base, such as latest.tar.gz, are followed. Range and conditional
// requests are supported.
func NewServer(storage *Storage) http.Handler {
	return &server{storage: storage}
}

type server struct {
	storage *Storage
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	f, fi, ok := s.open(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	http.ServeContent(w, r, fi.Name(), fi.ModTime(), f)
}

// open resolves the request path to an open regular file under the base.
func (s *server) open(urlPath string) (*os.File, os.FileInfo, bool) {
	if strings.HasSuffix(urlPath, "/") {
		return nil, nil, false
	}
	rel := strings.TrimPrefix(path.Clean("/"+urlPath), "/")
	if rel == "" {
		return nil, nil, false
	}
	for _, seg := range strings.Split(rel, "/") {
		if strings.HasPrefix(seg, ".") {
			return nil, nil, false
		}
	}
	// The request path is untrusted: open it through an os.Root.
	root, err := securepath.OpenRoot(s.storage.BasePath)
	if err != nil {
		return nil, nil, false
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		return nil, nil, false
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, nil, false
	}
	return f, fi, true
}
