// Package securepath opens untrusted relative paths under a trusted root
// directory without ever touching a file outside it.
//
// Every operation goes through Go's os.Root, which resolves each path
// component relative to an open directory handle: there is no window
// between checking a path and using it, so a concurrent writer that swaps
// a directory for a symlink cannot redirect the operation outside the
// root. Before that, Clean refuses what is wrong on its face (an absolute
// path, a ".." that climbs above the root, a NUL byte) with an error that
// names the path; a symlink that resolves outside the root (or is
// absolute) is refused by os.Root and reported the same way. Symlinks that
// stay inside the root are followed.
package securepath

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrEscape is wrapped by every error that reports an attempt to leave the
// root (absolute path, ".." traversal, symlink pointing outside).
var ErrEscape = errors.New("path escapes root")

// Error describes why an untrusted path was refused.
type Error struct {
	// Path is the untrusted path as given by the caller.
	Path string
	// Reason explains the refusal, e.g. "absolute path not allowed".
	Reason string
	// Err is the underlying cause; ErrEscape for escapes.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("path %q: %s", e.Path, e.Reason)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// IsAbs reports whether p is absolute on any common platform: it starts
// with a slash or backslash, or carries a Windows volume name.
func IsAbs(p string) bool {
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) || filepath.IsAbs(p) {
		return true
	}
	// "C:" / "C:\x" style volume names are refused everywhere.
	return len(p) >= 2 && p[1] == ':' && ((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z'))
}

// Clean validates an untrusted relative path lexically and returns it in
// cleaned, slash-separated form ("." for the root itself). It refuses empty
// strings, NUL bytes, absolute paths and any ".." that climbs above the root.
func Clean(untrusted string) (string, error) {
	switch {
	case untrusted == "":
		return "", &Error{Path: untrusted, Reason: "empty path"}
	case strings.ContainsRune(untrusted, 0):
		return "", &Error{Path: untrusted, Reason: "path contains a NUL byte"}
	case IsAbs(untrusted):
		return "", &Error{Path: untrusted, Reason: "absolute path not allowed", Err: ErrEscape}
	}
	c := filepath.ToSlash(filepath.Clean(filepath.FromSlash(untrusted)))
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", &Error{Path: untrusted, Reason: ErrEscape.Error(), Err: ErrEscape}
	}
	return c, nil
}

// Root is a directory opened as an os.Root; its methods take untrusted
// slash-separated relative paths and never act outside it.
type Root struct {
	root *os.Root
}

// OpenRoot opens dir (a trusted path) as a Root.
func OpenRoot(dir string) (*Root, error) {
	if dir == "" {
		return nil, errors.New("securepath: empty root")
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &Root{root: r}, nil
}

// Close releases the directory handle.
func (r *Root) Close() error { return r.root.Close() }

// Name is the directory the Root was opened on.
func (r *Root) Name() string { return r.root.Name() }

// FS is a read-only file system of the Root's tree (paths in fs.FS form).
func (r *Root) FS() fs.FS { return r.root.FS() }

// do cleans untrusted, runs op on the cleaned path and reports an escape
// found while resolving it (a symlink leading out) as an *Error.
func (r *Root) do(untrusted string, op func(name string) error) error {
	name, err := Clean(untrusted)
	if err != nil {
		return err
	}
	return explain(untrusted, op(name))
}

// explain turns os.Root's escape error into an *Error naming the path;
// other errors are returned as they are.
func explain(untrusted string, err error) error {
	for e := err; e != nil; e = errors.Unwrap(e) {
		// os.Root reports escapes with an unexported error of this text.
		if e.Error() == "path escapes from parent" {
			return &Error{Path: untrusted, Reason: "resolves outside root through a symlink", Err: ErrEscape}
		}
	}
	return err
}

// Open opens the file at untrusted for reading.
func (r *Root) Open(untrusted string) (f *os.File, err error) {
	err = r.do(untrusted, func(name string) error { f, err = r.root.Open(name); return err })
	return f, err
}

// OpenFile opens the file at untrusted as os.OpenFile does.
func (r *Root) OpenFile(untrusted string, flag int, perm fs.FileMode) (f *os.File, err error) {
	err = r.do(untrusted, func(name string) error { f, err = r.root.OpenFile(name, flag, perm); return err })
	return f, err
}

// Create creates or truncates the file at untrusted (mode 0666 before umask).
func (r *Root) Create(untrusted string) (*os.File, error) {
	return r.OpenFile(untrusted, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
}

// ReadFile reads the file at untrusted.
func (r *Root) ReadFile(untrusted string) (b []byte, err error) {
	err = r.do(untrusted, func(name string) error { b, err = r.root.ReadFile(name); return err })
	return b, err
}

// WriteFile writes data to the file at untrusted, creating it with perm.
func (r *Root) WriteFile(untrusted string, data []byte, perm fs.FileMode) error {
	return r.do(untrusted, func(name string) error { return r.root.WriteFile(name, data, perm) })
}

// Stat describes the file at untrusted, following symlinks inside the root.
func (r *Root) Stat(untrusted string) (fi fs.FileInfo, err error) {
	err = r.do(untrusted, func(name string) error { fi, err = r.root.Stat(name); return err })
	return fi, err
}

// MkdirAll creates the directory at untrusted and its parents.
func (r *Root) MkdirAll(untrusted string, perm fs.FileMode) error {
	return r.do(untrusted, func(name string) error {
		if name == "." {
			return nil
		}
		return r.root.MkdirAll(name, perm)
	})
}

// Mkdir creates the directory at untrusted.
func (r *Root) Mkdir(untrusted string, perm fs.FileMode) error {
	return r.do(untrusted, func(name string) error { return r.root.Mkdir(name, perm) })
}

// RemoveAll removes the tree at untrusted; the root itself is refused.
func (r *Root) RemoveAll(untrusted string) error {
	return r.do(untrusted, func(name string) error {
		if name == "." {
			return &Error{Path: untrusted, Reason: "names the root itself"}
		}
		return r.root.RemoveAll(name)
	})
}

// Rename moves oldpath to newpath, both under the root.
func (r *Root) Rename(oldpath, newpath string) error {
	return r.do(oldpath, func(o string) error {
		return r.do(newpath, func(n string) error { return r.root.Rename(o, n) })
	})
}

// OpenRoot opens the directory at untrusted as a Root of its own.
func (r *Root) OpenRoot(untrusted string) (sub *Root, err error) {
	err = r.do(untrusted, func(name string) error {
		s, err := r.root.OpenRoot(name)
		if err == nil {
			sub = &Root{root: s}
		}
		return err
	})
	return sub, err
}
