package tarball

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"gotk.dev/pkg/artifact/securepath"
)

// Filter decides what Archive leaves out. It receives the full path of each
// walked entry (dir joined with the relative path) and its Lstat info, and
// returns true to EXCLUDE the entry (Flux's ArchiveFileFilter convention).
// Excluding a directory excludes everything below it.
type Filter func(path string, fi os.FileInfo) bool

// Modes written for archived entries.
const (
	fileMode = 0o644
	execMode = 0o755
	dirMode  = 0o755
)

// Archive writes a deterministic gzip tarball of the tree under dir to w.
//
// Only regular files and directories are included (symlinks, sockets,
// devices are skipped). Entries are in lexical walk order with
// slash-separated names relative to dir (directories end in "/"), and
// headers are normalised: uid/gid 0, no user/group names, zero mtime, mode
// 0755 for directories and executable files, 0644 for other files. The same
// tree therefore always yields the same bytes.
func Archive(w io.Writer, dir string, filter Filter) error {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("archive %q: %w", dir, err)
	}
	if fi, err := os.Stat(root); err != nil {
		return fmt.Errorf("archive %q: %w", dir, err)
	} else if !fi.IsDir() {
		return fmt.Errorf("archive %q: not a directory", dir)
	}

	// The tree is untrusted (repository content): read it through an
	// os.Root, so a path swapped for a symlink cannot leak a file outside.
	r, err := securepath.OpenRoot(root)
	if err != nil {
		return fmt.Errorf("archive %q: %w", dir, err)
	}
	defer r.Close()
	gw := gzip.NewWriter(w)
	tw := tar.NewWriter(gw)
	walkErr := fs.WalkDir(r.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		// Report paths under dir as the caller named it.
		if filter != nil && filter(filepath.Join(dir, filepath.FromSlash(name)), info) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		switch {
		case info.IsDir():
			return tw.WriteHeader(normalisedHeader(tar.TypeDir, name+"/", dirMode, 0))
		case info.Mode().IsRegular():
			return writeFile(tw, r, name, info)
		default:
			return nil // symlinks and special files are never archived
		}
	})
	if walkErr != nil {
		return fmt.Errorf("archive %q: %w", dir, walkErr)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("archive %q: %w", dir, err)
	}
	if err := gw.Close(); err != nil {
		return fmt.Errorf("archive %q: %w", dir, err)
	}
	return nil
}

func normalisedHeader(typ byte, name string, mode, size int64) *tar.Header {
	// A zero ModTime is written as 0 (the epoch) and keeps the USTAR format
	// whenever the name fits; no uname/gname, uid/gid 0.
	return &tar.Header{Typeflag: typ, Name: name, Mode: mode, Size: size}
}

func writeFile(tw *tar.Writer, r *securepath.Root, name string, info os.FileInfo) error {
	mode := int64(fileMode)
	if info.Mode().Perm()&0o111 != 0 {
		mode = execMode
	}
	f, err := r.OpenFile(name, os.O_RDONLY|oNonBlock, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	// What was opened must still be the regular file that was walked.
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: file changed while archiving", name)
	}
	if err := tw.WriteHeader(normalisedHeader(tar.TypeReg, name, mode, info.Size())); err != nil {
		return err
	}
	if _, err := io.CopyN(tw, f, info.Size()); err != nil {
		return fmt.Errorf("%s: file changed while archiving: %w", name, err)
	}
	return nil
}
