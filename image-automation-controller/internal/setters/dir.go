package setters

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	gopath "path"
	"sort"
	"strings"
	"sync/atomic"

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
// root/path (hidden directories such as .git and symlinks are skipped).
// path and the tree are untrusted: everything is read and written through
// an os.Root on root, so nothing outside it is touched. It is all or
// nothing: any malformed file is an *Error and no file is written.
func UpdateDir(root, path string, policies Policies) (Result, error) {
	dir, err := securepath.Clean(path)
	if err != nil {
		return Result{}, fmt.Errorf("update path %q: %w", path, err)
	}
	r, err := securepath.OpenRoot(root)
	if err != nil {
		return Result{}, err
	}
	defer r.Close()
	info, err := r.Stat(dir)
	if err != nil {
		return Result{}, fmt.Errorf("update path %q: %w", path, err)
	}
	if !info.IsDir() {
		return Result{}, fmt.Errorf("update path %q is not a directory", path)
	}
	type pending struct {
		name string
		mode fs.FileMode
		data []byte
	}
	var writes []pending
	var res Result
	err = fs.WalkDir(r.FS(), dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != dir && strings.HasPrefix(name, ".") {
				return fs.SkipDir
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
		data, err := r.ReadFile(p)
		if err != nil {
			return err
		}
		out, changes, err := UpdateBytes(p, data, policies)
		if err != nil {
			return err
		}
		if len(changes) > 0 && !bytes.Equal(out, data) {
			writes = append(writes, pending{name: p, mode: fi.Mode().Perm(), data: out})
			res.Changes = append(res.Changes, changes...)
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	for _, w := range writes {
		if err := writeFile(r, w.name, w.data, w.mode); err != nil {
			return res, err
		}
	}
	return res, nil
}

// tmpSeq names writeFile's temporary files apart.
var tmpSeq atomic.Int64

// writeFile replaces the file name under r atomically, keeping its mode.
func writeFile(r *securepath.Root, name string, data []byte, mode fs.FileMode) error {
	tmp := gopath.Join(gopath.Dir(name), fmt.Sprintf(".setters-%d-%d", os.Getpid(), tmpSeq.Add(1)))
	f, err := r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		// Chmod: the create mode was reduced by the umask.
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = r.Rename(tmp, name)
	}
	if err != nil {
		_ = r.RemoveAll(tmp)
	}
	return err
}
