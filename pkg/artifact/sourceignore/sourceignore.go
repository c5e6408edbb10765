// Package sourceignore decides which files of a checkout go into an
// artifact: gitignore-syntax patterns from the default exclusions,
// .sourceignore files anywhere in the tree, and the object's spec.ignore,
// plus an optional sparse-checkout path list.
package sourceignore

import (
	"bufio"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"

	"gotk.dev/pkg/artifact/securepath"
	"gotk.dev/pkg/artifact/tarball"
)

// FileName is the ignore file read from every directory of the tree.
const FileName = ".sourceignore"

// Default exclusions, in the order Flux documents them: VCS metadata, CI
// configuration, binary media and archives, and tool files that must not
// reach a cluster. A spec or .sourceignore may re-include with "!".
var (
	vcsPatterns   = []string{".git/", ".gitignore", ".gitmodules", ".gitattributes"}
	ciPatterns    = []string{".github/", ".circleci/", ".travis.yml", ".gitlab-ci.yml", "appveyor.yml", ".drone.yml", "cloudbuild.yaml", "codeship-services.yml", "codeship-steps.yml"}
	extPatterns   = []string{"*.jpg", "*.jpeg", "*.gif", "*.png", "*.wmv", "*.flv", "*.tar.gz", "*.zip"}
	extraPatterns = []string{"**/.goreleaser.yml", "**/.sops.yaml", "**/.flux.yaml"}
)

// DefaultPatterns returns the default exclusions as parsed patterns.
func DefaultPatterns() []gitignore.Pattern {
	var ps []gitignore.Pattern
	for _, group := range [][]string{vcsPatterns, ciPatterns, extPatterns, extraPatterns} {
		for _, p := range group {
			ps = append(ps, gitignore.ParsePattern(p, nil))
		}
	}
	return ps
}

// ReadPatterns parses gitignore-syntax lines from r for the directory
// domain (path elements relative to the root, nil for the root). Blank
// lines and comments are skipped.
func ReadPatterns(r io.Reader, domain []string) []gitignore.Pattern {
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, domain))
	}
	return ps
}

// Load returns the patterns for the tree at dir: the defaults, every
// .sourceignore (scoped to its directory, outer files first) and then
// spec (when not nil), so later patterns override earlier ones.
func Load(dir string, spec *string) ([]gitignore.Pattern, error) {
	ps := DefaultPatterns()
	// The tree is repository content: read it through an os.Root.
	root, err := securepath.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return fs.SkipDir
		}
		if d.IsDir() || d.Name() != FileName || !d.Type().IsRegular() {
			return nil
		}
		f, err := root.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		ps = append(ps, ReadPatterns(f, split(path.Dir(p)))...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if spec != nil {
		ps = append(ps, ReadPatterns(strings.NewReader(*spec), nil)...)
	}
	return ps, nil
}

// Filter returns the tarball filter for root: a path is excluded when the
// patterns ignore it, or when sparse is not empty and the path is neither
// inside nor above one of the sparse directories.
func Filter(root string, ps []gitignore.Pattern, sparse []string) tarball.Filter {
	m := gitignore.NewMatcher(ps)
	var keep [][]string
	for _, s := range sparse {
		if c := path.Clean("/" + s); c != "/" {
			keep = append(keep, split(c[1:]))
		}
	}
	return func(p string, fi os.FileInfo) bool {
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return true
		}
		parts := split(rel)
		if m.Match(parts, fi.IsDir()) {
			return true
		}
		return len(keep) > 0 && !sparseKeeps(keep, parts, fi.IsDir())
	}
}

// sparseKeeps reports whether parts is inside a kept directory, or is a
// directory on the way to one.
func sparseKeeps(keep [][]string, parts []string, isDir bool) bool {
	for _, k := range keep {
		n := min(len(k), len(parts))
		same := true
		for i := 0; i < n; i++ {
			if k[i] != parts[i] {
				same = false
				break
			}
		}
		if same && (len(parts) >= len(k) || isDir) {
			return true
		}
	}
	return false
}

func split(rel string) []string {
	rel = filepath.ToSlash(rel)
	if rel == "." || rel == "" {
		return nil
	}
	return strings.Split(rel, "/")
}

// PathsFilter returns the tarball filter for root that excludes what the
// gitignore-syntax patterns match, and nothing else (no defaults, no
// .sourceignore files): the `--ignore-paths` of the artifact commands.
// It is nil when there are no patterns.
func PathsFilter(root string, patterns []string) tarball.Filter {
	if len(patterns) == 0 {
		return nil
	}
	return Filter(root, ReadPatterns(strings.NewReader(strings.Join(patterns, "\n")), nil), nil)
}
