package fleet

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"gotk.dev/pkg/kustomize"
)

// loadDir reads a source directory as source-controller archives it:
// regular files only (symlinks could lead outside), without .git, within
// the build's size bound.
func loadDir(dir string) (*kustomize.Files, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	m := map[string][]byte{}
	var size int64
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && d.Name() == ".git":
			return fs.SkipDir
		case !d.Type().IsRegular():
			return nil
		}
		b, err := root.ReadFile(p)
		if err != nil {
			return err
		}
		if size += int64(len(b)); size > kustomize.DefaultMaxFilesBytes {
			return fmt.Errorf("files exceed the limit of %d bytes", kustomize.DefaultMaxFilesBytes)
		}
		m[p] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	return kustomize.NewFiles(m)
}

// loadRevision reads the files of dir as they are at a Git revision
// (branch, tag, commit, HEAD~1...) of the repository holding dir,
// without touching the working tree.
func loadRevision(dir, rev string) (*kustomize.Files, error) {
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return nil, fmt.Errorf("--base needs a Git repository: %w", err)
	}
	hash, err := repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return nil, fmt.Errorf("--base %s: %w", rev, err)
	}
	commit, err := repo.CommitObject(*hash)
	if err != nil {
		return nil, fmt.Errorf("--base %s: %w", rev, err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return nil, err
	}
	top, err := filepath.EvalSymlinks(wt.Filesystem.Root())
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, err
	}
	prefix, err := filepath.Rel(top, real)
	if err != nil {
		return nil, err
	}
	if prefix != "." {
		if tree, err = tree.Tree(filepath.ToSlash(prefix)); err != nil {
			return nil, fmt.Errorf("--base %s: %s: %w", rev, prefix, err)
		}
	}
	m := map[string][]byte{}
	var size int64
	err = tree.Files().ForEach(func(f *object.File) error {
		if f.Mode != filemode.Regular && f.Mode != filemode.Executable {
			return nil
		}
		if size += f.Size; size > kustomize.DefaultMaxFilesBytes {
			return fmt.Errorf("files at %s exceed the limit of %d bytes", rev, kustomize.DefaultMaxFilesBytes)
		}
		r, err := f.Reader()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(r)
		if err = errors.Join(err, r.Close()); err != nil {
			return err
		}
		m[f.Name] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	return kustomize.NewFiles(m)
}
