package git

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
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
// from disk, packs indexed by indexPack, and, when maxFetch > 0, a
// packfile writer that fails once the remote has sent more than maxFetch
// bytes.
func initCheckout(dir string, maxFetch int64) (*gogit.Repository, error) {
	dotgit := osfs.New(filepath.Join(dir, ".git"))
	fs := filesystem.NewStorageWithOptions(dotgit, cache.NewObjectLRU(objectCacheBytes),
		filesystem.Options{LargeObjectThreshold: largeObjectBytes})
	return gogit.Init(&checkoutStorage{Storage: fs, dotgit: dotgit, limit: maxFetch}, osfs.New(dir))
}

// checkoutStorage is filesystem storage whose packfile writer streams the
// pack to disk, counting bytes, and indexes it with indexPack. go-git
// copies the fetched pack from the transport (HTTP body or SSH stdout
// alike) straight into this writer, so failing a write stops the download
// there: the connection is closed with the rest unread.
type checkoutStorage struct {
	*filesystem.Storage
	dotgit billy.Filesystem
	limit  int64
}

const packDir = "objects/pack"

// PackfileWriter implements storer.PackfileWriter.
func (s *checkoutStorage) PackfileWriter() (io.WriteCloser, error) {
	if err := s.dotgit.MkdirAll(packDir, 0o755); err != nil {
		return nil, err
	}
	f, err := s.dotgit.TempFile(packDir, "tmp_pack_")
	if err != nil {
		return nil, err
	}
	return &packWriter{s: s, f: f}, nil
}

// packWriter writes one fetched pack; Close indexes and installs it.
type packWriter struct {
	s   *checkoutStorage
	f   billy.File
	n   int64
	err error
}

func (w *packWriter) Write(p []byte) (int, error) {
	if w.n += int64(len(p)); w.s.limit > 0 && w.n > w.s.limit {
		w.err = &SizeLimitError{Limit: w.s.limit, Fetch: true}
		return 0, w.err
	}
	n, err := w.f.Write(p)
	if err != nil {
		w.err = err
	}
	return n, err
}

// Close indexes the pack and moves it with its index into objects/pack,
// unless a write failed or nothing was written.
func (w *packWriter) Close() error {
	tmp := w.f.Name()
	defer w.s.dotgit.Remove(tmp) // no-op once renamed
	if w.err != nil || w.n == 0 {
		return w.f.Close()
	}
	idx, err := indexPack(w.f)
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("indexing fetched pack: %w", err)
	}
	base := w.s.dotgit.Join(packDir, "pack-"+plumbing.Hash(idx.PackfileChecksum).String())
	idxFile, err := w.s.dotgit.Create(base + ".idx")
	if err != nil {
		return err
	}
	_, err = idxfile.NewEncoder(idxFile).Encode(idx)
	if cerr := idxFile.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = w.s.dotgit.Rename(tmp, base+".pack")
	}
	// The storage lists packs once; make it look again.
	w.s.Reindex()
	return err
}
