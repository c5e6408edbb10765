package tarball

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"gotk.dev/pkg/artifact/securepath"
)

var (
	// ErrUnsafeEntry is wrapped by errors about entries that could write
	// outside the destination or create special files: absolute names,
	// traversal, links, devices, FIFOs, unknown types.
	ErrUnsafeEntry = errors.New("unsafe tar entry")
	// ErrLimitExceeded is wrapped by errors about exceeded Limits: file
	// size, total size, entry count and decompressed stream size.
	ErrLimitExceeded = errors.New("tar limit exceeded")
)

// EntryError reports why one tar entry was refused or failed.
type EntryError struct {
	// Name is the entry name as found in the archive.
	Name string
	// Reason is a short explanation, e.g. "path escapes destination".
	Reason string
	// Err is the cause: ErrUnsafeEntry, ErrLimitExceeded or an I/O error.
	Err error
}

// Error implements error: `tar entry "../../etc/passwd": path escapes destination`.
func (e *EntryError) Error() string {
	return fmt.Sprintf("tar entry %q: %s", e.Name, e.Reason)
}

// Unwrap returns the cause.
func (e *EntryError) Unwrap() error { return e.Err }

// Untar extracts a gzip-compressed (or plain) tar stream from r into dir,
// creating dir if needed.
//
// Only directories and regular files are created: directories with mode
// 0755, files with 0755 when any exec bit is set and 0644 otherwise;
// ownership and times are not restored. Every entry is created through
// an os.Root on dir (securepath.Root), so absolute names, ".." traversal
// and symlinks that lead outside dir are refused, with no window between
// a check and the write. Symlink and hardlink entries
// are refused (or skipped when limits.SkipLinks is set) whatever their
// target, because a link created by one entry could redirect a later one.
// Device, FIFO and unknown entry types are refused. Sizes, entry count and
// the decompressed stream are bounded by limits (zero fields take the
// defaults). On error, entries extracted so far are left in dir; callers
// should extract into a fresh directory and discard it on failure.
func Untar(r io.Reader, dir string, limits Limits) error {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return err
	}
	root, err := securepath.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	return UntarRoot(r, root, limits)
}

// UntarRoot is Untar into an open root (see Untar).
func UntarRoot(r io.Reader, root *securepath.Root, limits Limits) error {
	l := limits.withDefaults()
	br := bufio.NewReader(r)
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		src = zr
	}
	stream := &boundedReader{r: src, max: l.maxStreamBytes()}
	tr := tar.NewReader(stream)
	var total int64
	for entries := 0; ; entries++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		if entries >= l.MaxEntries {
			return fmt.Errorf("%w: more than %d entries", ErrLimitExceeded, l.MaxEntries)
		}
		n, err := extractEntry(tr, hdr, root, l, total)
		if err != nil {
			return err
		}
		total += n
	}
}

// extractEntry writes one entry and returns the number of file bytes written.
func extractEntry(tr *tar.Reader, hdr *tar.Header, root *securepath.Root, l Limits, total int64) (int64, error) {
	refuse := func(cause error, format string, args ...any) error {
		return &EntryError{Name: hdr.Name, Reason: fmt.Sprintf(format, args...), Err: cause}
	}
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		return 0, nil // metadata only
	case tar.TypeSymlink, tar.TypeLink:
		if l.SkipLinks {
			return 0, nil
		}
		kind := "symlink"
		if hdr.Typeflag == tar.TypeLink {
			kind = "hardlink"
		}
		return 0, refuse(ErrUnsafeEntry, "%s entries are not allowed (target %q)", kind, hdr.Linkname)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return 0, refuse(ErrUnsafeEntry, "device and fifo entries are not allowed")
	case tar.TypeDir, tar.TypeReg, tar.TypeGNUSparse: // archive/tar maps the old TypeRegA to these
	default:
		return 0, refuse(ErrUnsafeEntry, "unsupported entry type %q", hdr.Typeflag)
	}

	target, err := securepath.Clean(hdr.Name)
	if err != nil {
		return 0, entryError(hdr.Name, err)
	}
	if hdr.Typeflag == tar.TypeDir {
		if err := root.MkdirAll(target, dirMode); err != nil {
			return 0, entryError(hdr.Name, err)
		}
		return 0, nil
	}

	switch {
	case target == ".":
		return 0, refuse(ErrUnsafeEntry, "file entry names the destination itself")
	case hdr.Size < 0:
		return 0, refuse(ErrUnsafeEntry, "negative size %d", hdr.Size)
	case hdr.Size > l.MaxFileBytes:
		return 0, refuse(ErrLimitExceeded, "file size %d exceeds the limit of %d bytes", hdr.Size, l.MaxFileBytes)
	case total+hdr.Size > l.MaxTotalBytes:
		return 0, refuse(ErrLimitExceeded, "total extracted size would exceed the limit of %d bytes", l.MaxTotalBytes)
	}
	if err := root.MkdirAll(path.Dir(target), dirMode); err != nil {
		return 0, entryError(hdr.Name, err)
	}
	mode := os.FileMode(fileMode)
	if hdr.Mode&0o111 != 0 {
		mode = execMode
	}
	f, err := root.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|oNoFollow, mode)
	if err != nil {
		return 0, entryError(hdr.Name, err)
	}
	n, err := io.CopyN(f, tr, hdr.Size)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, refuse(err, "write: %v", err)
	}
	return n, nil
}

// entryError reports a refused or failed entry, with tar-specific
// messages for paths that would leave the destination.
func entryError(name string, err error) error {
	var se *securepath.Error
	if !errors.As(err, &se) {
		return &EntryError{Name: name, Reason: err.Error(), Err: err}
	}
	reason := strings.Replace(se.Reason, "outside root", "outside destination", 1)
	if reason == securepath.ErrEscape.Error() {
		reason = "path escapes destination"
	}
	return &EntryError{Name: name, Reason: reason, Err: errors.Join(ErrUnsafeEntry, err)}
}

// errStreamTooLarge is returned once the decompressed stream passes its bound.
type errStreamTooLarge struct{ max int64 }

func (e errStreamTooLarge) Error() string {
	return fmt.Sprintf("decompressed stream exceeds %d bytes (gzip bomb?)", e.max)
}

func (e errStreamTooLarge) Unwrap() error { return ErrLimitExceeded }

// boundedReader fails once more than max bytes have been read.
type boundedReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.n > b.max {
		return 0, errStreamTooLarge{b.max}
	}
	// Let at most one byte past max through, to detect overflow while
	// accepting a stream that ends exactly at max.
	if rem := b.max - b.n; int64(len(p)) > rem+1 {
		p = p[:rem+1]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > b.max {
		return 0, errStreamTooLarge{b.max}
	}
	return n, err
}
