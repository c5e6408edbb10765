package bootstrap

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"gotk.dev/pkg/artifact/securepath"
)

// checkOwnFolder refuses a repository whose <path>/flux-system already
// holds something bootstrap does not write: overwriting or leaving beside
// it would sync content nobody asked for. It runs on the fresh clone,
// before anything is written, pushed or applied.
func checkOwnFolder(dir, path string, files map[string][]byte) error {
	target, err := securepath.Clean(filepath.ToSlash(filepath.Join(path, Name)))
	if err != nil {
		return fmt.Errorf("--path %q: %w", path, err)
	}
	root, err := securepath.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	info, err := root.Stat(target)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("--path %q: %w", path, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("the repository already has %s and it is not a folder: choose another --path", target)
	}
	entries, err := fs.ReadDir(root.FS(), target)
	if err != nil {
		return fmt.Errorf("--path %q: %w", path, err)
	}
	var foreign []string
	for _, e := range entries {
		if _, ours := files[e.Name()]; !ours {
			foreign = append(foreign, e.Name())
		}
	}
	if len(foreign) > 0 {
		slices.Sort(foreign)
		return fmt.Errorf("the repository's %s holds files bootstrap does not manage (%s): move them or choose another --path",
			target, strings.Join(foreign, ", "))
	}
	return nil
}
