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

// fetchBudget counts the bytes every fetch of one clone received (the
// repository, then its submodules), so the limit bounds their total.
type fetchBudget struct {
	// limit is the maximum in bytes; 0 is unlimited.
	limit int64
	used  int64
}

// take records n more bytes received and fails once the total exceeds
// the limit.
func (b *fetchBudget) take(n int) error {
	if b == nil {
		return nil
	}
	if b.used += int64(n); b.limit > 0 && b.used > b.limit {
		return &SizeLimitError{Limit: b.limit, Fetch: true}
	}
	return nil
}

// initCheckout creates an empty repository in dir (.git plus a worktree)
// on checkout storage (see openCheckout).
func initCheckout(dir string, budget *fetchBudget) (*gogit.Repository, error) {
	s, wt := checkoutFS(dir, budget)
	return gogit.Init(s, wt)
}

// openCheckout opens the repository initCheckout made in dir.
func openCheckout(dir string, budget *fetchBudget) (*gogit.Repository, error) {
	s, wt := checkoutFS(dir, budget)
	return gogit.Open(s, wt)
}

// checkoutFS returns filesystem storage for dir/.git with a small object
// cache, large objects streamed from disk, packs indexed by indexPack, and
// a packfile writer that fails once the fetches of budget have received
// more than its limit; and dir as the worktree.
func checkoutFS(dir string, budget *fetchBudget) (*checkoutStorage, billy.Filesystem) {
	dotgit := osfs.New(filepath.Join(dir, ".git"))
	fs := filesystem.NewStorageWithOptions(dotgit, cache.NewObjectLRU(objectCacheBytes),
		filesystem.Options{LargeObjectThreshold: largeObjectBytes})
	return &checkoutStorage{Storage: fs, dotgit: dotgit, budget: budget}, osfs.New(dir)
}

// checkoutStorage is filesystem storage whose packfile writer streams the
// pack to disk, counting bytes, and indexes it with indexPack. go-git
// copies the fetched pack from the transport (HTTP body or SSH stdout
// alike) straight into this writer, so failing a write stops the download
// there: the connection is closed with the rest unread.
type checkoutStorage struct {
	*filesystem.Storage
	dotgit billy.Filesystem
	budget *fetchBudget
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
	w.n += int64(len(p))
	if err := w.s.budget.take(len(p)); err != nil {
		w.err = err
		return 0, err
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
