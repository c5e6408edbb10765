package artifact

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gotk.dev/pkg/artifact/securepath"
	"gotk.dev/pkg/artifact/tarball"
)

// tempPrefix marks in-progress writes: dotfiles, so the server never serves
// them and GarbageCollect only removes them once stale.
const tempPrefix = ".tmp-"

// Archive writes a deterministic gzip tarball of dir (see tarball.Archive;
// filter returns true to exclude a path) as art's file, atomically, and sets
// art's Digest, Size, LastUpdateTime and URL.
func (s *Storage) Archive(art *meta.Artifact, dir string, filter tarball.Filter) error {
	return s.atomicWrite(art, 0o644, func(w io.Writer) error {
		return tarball.Archive(w, dir, filter)
	})
}

// AtomicWriteFile writes everything read from r as art's file with the
// given mode, atomically, and sets Digest, Size, LastUpdateTime and URL.
func (s *Storage) AtomicWriteFile(art *meta.Artifact, r io.Reader, mode os.FileMode) error {
	return s.atomicWrite(art, mode, func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	})
}

// Copy is AtomicWriteFile with mode 0644.
func (s *Storage) Copy(art *meta.Artifact, r io.Reader) error {
	return s.AtomicWriteFile(art, r, 0o644)
}

// CopyFromPath copies the file at p as art's file (see AtomicWriteFile).
func (s *Storage) CopyFromPath(art *meta.Artifact, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("copy artifact: %w", err)
	}
	defer f.Close()
	return s.Copy(art, f)
}

// CopyToPath extracts art (a tarball) and moves its subPath (a file or a
// directory, "." for all) to toPath under dst, which must not exist yet.
// Both paths are untrusted: every step goes through dst's os.Root, so
// neither can leave it. Extraction uses default limits, into a temporary
// directory next to toPath (the move is a rename).
func (s *Storage) CopyToPath(art meta.Artifact, subPath string, dst *securepath.Root, toPath string) error {
	from, err := securepath.Clean(subPath)
	if err != nil {
		return fmt.Errorf("copy artifact: fromPath: %w", err)
	}
	to, err := securepath.Clean(toPath)
	if err != nil || to == "." {
		return fmt.Errorf("copy artifact: invalid toPath %q", toPath)
	}
	p, err := s.LocalPath(art)
	if err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("copy artifact: %w", err)
	}
	defer f.Close()
	tmp := path.Join(path.Dir(to), fmt.Sprintf(".extract-%d-%d", os.Getpid(), extractSeq.Add(1)))
	if err := dst.Mkdir(tmp, 0o700); err != nil {
		return fmt.Errorf("copy artifact: %w", err)
	}
	defer dst.RemoveAll(tmp)
	root, err := dst.OpenRoot(tmp)
	if err != nil {
		return fmt.Errorf("copy artifact: %w", err)
	}
	defer root.Close()
	if err := tarball.UntarRoot(f, root, tarball.DefaultLimits()); err != nil {
		return fmt.Errorf("copy artifact: %w", err)
	}
	if err := dst.Rename(path.Join(tmp, from), to); err != nil {
		return fmt.Errorf("copy artifact: %w", err)
	}
	return nil
}

// extractSeq names CopyToPath's temporary directories apart.
var extractSeq atomic.Int64

// Symlink points linkName (a file name in art's directory, e.g.
// "latest.tar.gz") at art's file, replacing any previous link atomically.
// It returns the URL of the link.
func (s *Storage) Symlink(art meta.Artifact, linkName string) (string, error) {
	if linkName == "" || strings.ContainsAny(linkName, `/\`) || strings.HasPrefix(linkName, ".") {
		return "", fmt.Errorf("invalid symlink name %q", linkName)
	}
	p, err := s.LocalPath(art)
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(p)
	tmp := filepath.Join(dir, tempPrefix+linkName)
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Base(p), tmp); err != nil {
		return "", fmt.Errorf("symlink artifact: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, linkName)); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("symlink artifact: %w", err)
	}
	return s.URLFor(path.Join(path.Dir(art.Path), linkName)), nil
}

// atomicWrite streams write's output into a temporary file next to art's
// file while hashing and counting it, fsyncs, then renames it into place.
func (s *Storage) atomicWrite(art *meta.Artifact, mode os.FileMode, write func(io.Writer) error) (err error) {
	p, err := s.LocalPath(*art)
	if err != nil {
		return err
	}
	d, err := NewDigester(s.digestAlgorithm())
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write artifact %q: %w", art.Path, err)
	}
	tmp, err := os.CreateTemp(dir, tempPrefix+filepath.Base(p)+"-*")
	if err != nil {
		return fmt.Errorf("write artifact %q: %w", art.Path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	cw := &countingWriter{w: io.MultiWriter(tmp, d)}
	if err := write(cw); err != nil {
		return fmt.Errorf("write artifact %q: %w", art.Path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("write artifact %q: %w", art.Path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write artifact %q: fsync: %w", art.Path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write artifact %q: %w", art.Path, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("write artifact %q: %w", art.Path, err)
	}
	syncDir(dir)

	size := cw.n
	art.Digest = d.Digest()
	art.Size = &size
	art.LastUpdateTime = metav1.Now()
	s.SetArtifactURL(art)
	return nil
}

// syncDir makes a rename durable; best effort (not all platforms allow it).
func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		_ = f.Sync()
		_ = f.Close()
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
