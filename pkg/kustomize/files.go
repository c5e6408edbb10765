// Package kustomize builds the manifests of a Kustomization the way
// kustomize-controller applies them: the kustomize API run over an
// in-memory copy of the artifact (so no kustomization.yaml can read the
// host's file system), the Kustomization's own overlay fields, post-build
// variable substitution and bounded output. The CLI's build and diff run
// this same code.
package kustomize

import (
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"sort"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"gotk.dev/pkg/artifact/securepath"
)

// DefaultMaxFilesBytes bounds the total size of an artifact's files held
// in memory.
const DefaultMaxFilesBytes = int64(256 << 20)

// Files is the content of an extracted artifact held in memory, keyed by
// slash-separated path relative to the artifact root. It is read-only once
// loaded, so one Files can serve many concurrent builds.
type Files struct {
	files map[string][]byte
	size  int64
}

// NewFiles returns Files holding the given path → content map (paths are
// cleaned; ones escaping the root are refused).
func NewFiles(m map[string][]byte) (*Files, error) {
	f := &Files{files: make(map[string][]byte, len(m))}
	for p, b := range m {
		c := path.Clean("/" + filepath.ToSlash(p))[1:]
		if c == "" {
			return nil, fmt.Errorf("invalid file path %q", p)
		}
		f.files[c] = b
		f.size += int64(len(b))
	}
	return f, nil
}

// LoadDir reads every regular file under dir into memory, through an
// os.Root on dir so that nothing outside it is read. Symlinks and other
// special files are skipped: they could point outside the artifact. It
// fails when the files exceed maxBytes (0: DefaultMaxFilesBytes).
func LoadDir(dir string, maxBytes int64) (*Files, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxFilesBytes
	}
	root, err := securepath.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f := &Files{files: map[string][]byte{}}
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if f.size+info.Size() > maxBytes {
			return fmt.Errorf("artifact files exceed the limit of %d bytes", maxBytes)
		}
		b, err := root.ReadFile(p)
		if err != nil {
			return err
		}
		f.files[p] = b
		f.size += int64(len(b))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Size is the total size of the files in bytes.
func (f *Files) Size() int64 { return f.size }

// Paths lists the file paths in lexical order.
func (f *Files) Paths() []string {
	out := make([]string, 0, len(f.files))
	for p := range f.files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Read returns the content of a file and whether it exists.
func (f *Files) Read(p string) ([]byte, bool) {
	b, ok := f.files[p]
	return b, ok
}

// fileSystem returns a fresh in-memory kustomize file system rooted at "/"
// holding a copy of the files, so a build may write (a generated
// kustomization.yaml) without touching the shared content.
func (f *Files) fileSystem() (filesys.FileSystem, error) {
	fsys := filesys.MakeFsInMemory()
	for p, b := range f.files {
		if err := fsys.WriteFile("/"+p, b); err != nil {
			return nil, fmt.Errorf("loading %s: %w", p, err)
		}
	}
	return fsys, nil
}
