package helm

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"

	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/ignore"

	"gotk.dev/pkg/artifact/securepath"
)

// utf8BOM is dropped from the start of chart files, as Helm does.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// defaultMaxFileBytes is the per-file limit when none is given: the 5 MiB
// Helm 3 enforced while loading charts (Helm 4 only limits the whole chart).
const defaultMaxFileBytes int64 = 5 << 20

// loadChartFiles loads the chart whose directory is dir, with the rules
// of Helm's directory loader (.helmignore and its defaults, regular files
// only, a UTF-8 BOM dropped) but reading through dir's os.Root, so that
// no symlink in the source makes it read a file outside. A file larger
// than maxFileBytes (0: defaultMaxFileBytes) is refused before it is read.
func loadChartFiles(dir *securepath.Root, maxFileBytes int64) (*chart.Chart, error) {
	if maxFileBytes <= 0 {
		maxFileBytes = defaultMaxFileBytes
	}
	rules := ignore.Empty()
	data, err := dir.ReadFile(ignore.HelmIgnore)
	switch {
	case err == nil:
		if rules, err = ignore.Parse(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("%s: %w", ignore.HelmIgnore, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	rules.AddDefaults()

	fsys := dir.FS()
	var files []*archive.BufferedFile
	err = fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name == "." {
			return nil
		}
		// Stat follows a symlink, inside the root only.
		fi, err := fs.Stat(fsys, name)
		if err != nil {
			return fmt.Errorf("chart file %q: %w", name, err)
		}
		if fi.IsDir() {
			if rules.Ignore(name, fi) {
				return fs.SkipDir
			}
			if d.Type()&fs.ModeSymlink != 0 {
				return fmt.Errorf("chart file %q: symlinked directories are not loaded", name)
			}
			return nil
		}
		if rules.Ignore(name, fi) {
			return nil
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("chart file %q is not a regular file", name)
		}
		if fi.Size() > maxFileBytes {
			return fmt.Errorf("chart file %q is %d bytes, over the limit of %d", name, fi.Size(), maxFileBytes)
		}
		data, err := dir.ReadFile(name)
		if err != nil {
			return fmt.Errorf("chart file %q: %w", name, err)
		}
		files = append(files, &archive.BufferedFile{Name: name, Data: bytes.TrimPrefix(data, utf8BOM)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return loader.LoadFiles(files)
}
