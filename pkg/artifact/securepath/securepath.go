// Package securepath joins untrusted relative paths under a trusted root
// directory without ever producing a path outside it.
//
// Unlike a chroot-style join (which silently clamps escapes to the root),
// Join refuses them: an absolute path, a ".." that climbs above the root, or
// a symlink on disk whose target resolves outside the root is an error that
// names the offending path. Symlinks that stay inside the root are followed,
// so the returned path names the real location under root.
//
// Join inspects the file system at call time; a concurrent writer that swaps
// a directory for a symlink afterwards is out of its scope (callers that
// extract untrusted content should not create symlinks at all).
package securepath

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// maxSymlinks bounds symlink resolution, like the kernel's ELOOP limit.
const maxSymlinks = 255

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

// Join resolves the untrusted relative path under root and returns the
// resulting path (root joined with the resolved components). It refuses
// absolute paths, ".." escapes and symlinks (existing on disk) whose target
// resolves outside root. Components that do not exist yet are joined
// lexically, so Join can name files that are about to be created.
func Join(root, untrusted string) (string, error) {
	if root == "" {
		return "", errors.New("securepath: empty root")
	}
	rel, err := Clean(untrusted)
	if err != nil {
		return "", err
	}
	root = filepath.Clean(root)
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("securepath: root %q: %w", root, err)
	}
	realRoot := absRoot
	if r, err := filepath.EvalSymlinks(absRoot); err == nil {
		realRoot = r
	}

	var resolved []string
	pending := split(rel)
	links := 0
	lastLink := ""
	for len(pending) > 0 {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(resolved) == 0 {
				// Only reachable through a symlink target: Clean already
				// rejected lexical escapes.
				return "", &Error{Path: untrusted, Reason: fmt.Sprintf("symlink %q resolves outside root", lastLink), Err: ErrEscape}
			}
			resolved = resolved[:len(resolved)-1]
			continue
		}
		cur := filepath.Join(append([]string{realRoot}, append(resolved, c)...)...)
		fi, err := os.Lstat(cur)
		if err != nil {
			if !os.IsNotExist(err) && !errors.Is(err, syscall.ENOTDIR) {
				return "", fmt.Errorf("securepath: %q: %w", untrusted, err)
			}
			// Does not exist (yet): nothing to resolve, join lexically.
			resolved = append(resolved, c)
			continue
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			resolved = append(resolved, c)
			continue
		}
		links++
		if links > maxSymlinks {
			return "", &Error{Path: untrusted, Reason: "too many levels of symbolic links"}
		}
		target, err := os.Readlink(cur)
		if err != nil {
			return "", fmt.Errorf("securepath: %q: %w", untrusted, err)
		}
		linkName := filepath.ToSlash(filepath.Join(append(resolved, c)...))
		lastLink = linkName
		if filepath.IsAbs(target) {
			t := filepath.Clean(target)
			r, ok := within(realRoot, t)
			if !ok {
				r, ok = within(absRoot, t)
			}
			if !ok {
				return "", &Error{Path: untrusted, Reason: fmt.Sprintf("symlink %q resolves outside root", linkName), Err: ErrEscape}
			}
			resolved = nil
			pending = append(split(r), pending...)
			continue
		}
		// Relative target: resolved against the link's parent directory.
		pending = append(split(filepath.ToSlash(target)), pending...)
	}
	return filepath.Join(append([]string{root}, resolved...)...), nil
}

// within returns p relative to root when p is root or below it.
func within(root, p string) (string, bool) {
	r, err := filepath.Rel(root, p)
	if err != nil {
		return "", false
	}
	r = filepath.ToSlash(r)
	if r == ".." || strings.HasPrefix(r, "../") {
		return "", false
	}
	return r, true
}

func split(p string) []string {
	if p == "" || p == "." {
		return nil
	}
	return strings.Split(p, "/")
}
