package setters

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gotk.dev/pkg/artifact/securepath"
)

// Result is what UpdateDir changed.
type Result struct {
	// Changes lists every rewritten value, by file then line.
	Changes []Change
}

// FileChanges groups the changes by file (relative to the root).
func (r Result) FileChanges() map[string][]Change {
	out := map[string][]Change{}
	for _, c := range r.Changes {
		out[c.File] = append(out[c.File], c)
	}
	return out
}

// Objects groups the changes by object.
func (r Result) Objects() map[ObjectID][]Change {
	out := map[ObjectID][]Change{}
	for _, c := range r.Changes {
		out[c.Object] = append(out[c.Object], c)
	}
	return out
}

// Files returns the changed files, sorted.
func (r Result) Files() []string {
	var files []string
	for f := range r.FileChanges() {
		files = append(files, f)
	}
	sort.Strings(files)
	return files
}

// MaxFileSize bounds the YAML files read; bigger ones are skipped as
// generated data, not manifests.
const MaxFileSize = 8 << 20

// UpdateDir rewrites the markers of every .yaml and .yml file under
// root/path (path is joined securely; hidden directories such as .git and
// symlinks are skipped). It is all or nothing: any malformed file is an
// *Error and no file is written.
func UpdateDir(root, path string, policies Policies) (Result, error) {
	dir, err := securepath.Join(root, path)
	if err != nil {
		return Result{}, fmt.Errorf("update path %q: %w", path, err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return Result{}, fmt.Errorf("update path %q: %w", path, relErr(err, root))
	}
	if !info.IsDir() {
		return Result{}, fmt.Errorf("update path %q is not a directory", path)
	}
	type pending struct {
		abs  string
		mode fs.FileMode
		data []byte
	}
	var writes []pending
	var res Result
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != dir && strings.HasPrefix(name, ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			return nil
		}
		fi, err := d.Info()
		if err != nil || fi.Size() > MaxFileSize {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		out, changes, err := UpdateBytes(rel, data, policies)
		if err != nil {
			return err
		}
		if len(changes) > 0 && !bytes.Equal(out, data) {
			writes = append(writes, pending{abs: p, mode: fi.Mode().Perm(), data: out})
			res.Changes = append(res.Changes, changes...)
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	for _, w := range writes {
		if err := writeFile(w.abs, w.data, w.mode); err != nil {
			return res, err
		}
	}
	return res, nil
}

func relErr(err error, root string) error {
	if pe, ok := err.(*fs.PathError); ok {
		rel, _ := filepath.Rel(root, pe.Path)
		return fmt.Errorf("%s: %w", filepath.ToSlash(rel), pe.Err)
	}
	return err
}

// writeFile replaces a file atomically, keeping its mode.
func writeFile(path string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".setters-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		_ = os.Remove(name)
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(name)
		return err
	}
	if err := os.Chmod(name, mode); err != nil {
		_ = os.Remove(name)
		return err
	}
	return os.Rename(name, path)
}
