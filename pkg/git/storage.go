package git

import (
	"io"
	"path/filepath"

	"github.com/go-git/go-billy/v5/osfs"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

const (
	// objectCacheBytes bounds go-git's decoded-object cache per checkout;
	// the default (96 MiB) is sized for long-lived repositories, not for
	// a clone read once.
	objectCacheBytes = 4 << 20
	// largeObjectBytes is the size above which go-git reads a blob from
	// the packfile as a stream instead of inflating it into memory.
	largeObjectBytes = 1 << 20
)

// initCheckout creates an empty repository in dir (.git plus a worktree)
// on filesystem storage with a small object cache, large objects streamed
// from disk, and, when maxFetch > 0, a packfile writer that fails once the
// remote has sent more than maxFetch bytes.
func initCheckout(dir string, maxFetch int64) (*gogit.Repository, error) {
	fs := filesystem.NewStorageWithOptions(osfs.New(filepath.Join(dir, ".git")),
		cache.NewObjectLRU(objectCacheBytes), filesystem.Options{LargeObjectThreshold: largeObjectBytes})
	return gogit.Init(&limitedStorage{Storage: fs, limit: maxFetch}, osfs.New(dir))
}

// limitedStorage is filesystem storage whose packfile writer counts bytes.
// go-git copies the fetched pack from the transport (HTTP body or SSH
// stdout alike) straight into this writer, so failing the write stops the
// download there: the connection is closed with the rest unread.
type limitedStorage struct {
	*filesystem.Storage
	limit int64
}

// PackfileWriter implements storer.PackfileWriter.
func (s *limitedStorage) PackfileWriter() (io.WriteCloser, error) {
	w, err := s.Storage.PackfileWriter()
	if err != nil || s.limit <= 0 {
		return w, err
	}
	return &limitedWriter{WriteCloser: w, limit: s.limit}, nil
}

type limitedWriter struct {
	io.WriteCloser
	limit, n int64
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.n += int64(len(p)); w.n > w.limit {
		return 0, &SizeLimitError{Limit: w.limit, Fetch: true}
	}
	return w.WriteCloser.Write(p)
}
