package generator

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"sigs.k8s.io/yaml"

	sourceextv1beta1 "gotk.dev/pkg/apis/sourceextensions/v1beta1"
	"gotk.dev/pkg/artifact/securepath"
	"gotk.dev/pkg/artifact/tarball"
)

// Error is a copy failure the spec or the source content caused; Reason
// is Flux's condition reason (ValidationFailed or BuildFailed).
type Error struct {
	Reason string
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func invalid(format string, args ...any) error {
	return &Error{Reason: sourceextv1beta1.ValidationFailedReason, Msg: fmt.Sprintf(format, args...)}
}

func buildFailed(format string, args ...any) error {
	return &Error{Reason: sourceextv1beta1.BuildFailedReason, Msg: fmt.Sprintf(format, args...)}
}

// Op is one copy operation with its source resolved to an extracted tree.
type Op struct {
	// From and To are the spec's strings, for messages.
	From, To string
	// SrcDir is the extracted artifact of From's alias.
	SrcDir string
	// Exclude and Strategy are the spec's.
	Exclude  []string
	Strategy string
}

// ParseFrom splits "@alias/pattern" into its alias and pattern.
func ParseFrom(from string) (alias, pattern string, err error) {
	rest, ok := strings.CutPrefix(from, "@")
	if !ok {
		return "", "", invalid("copy from '%s': must start with '@<alias>/'", from)
	}
	alias, pattern, _ = strings.Cut(rest, "/")
	if alias == "" {
		return "", "", invalid("copy from '%s': must start with '@<alias>/'", from)
	}
	return alias, pattern, nil
}

// Apply runs op into the output tree out. Sources and destinations are
// confined to their roots: a path that would leave one is ValidationFailed,
// a pattern that matches nothing is BuildFailed.
func Apply(out *securepath.Root, op Op) error {
	_, rawPattern, err := ParseFrom(op.From)
	if err != nil {
		return err
	}
	if err := checkAlternations(rawPattern); err != nil {
		return invalid("copy from '%s': %v", op.From, err)
	}
	pattern, err := cleanOrRoot(rawPattern)
	if err != nil {
		return invalid("copy from '%s': %v", op.From, err)
	}
	if !ValidPattern(pattern) {
		return invalid("copy from '%s': malformed glob pattern", op.From)
	}
	rawTo, ok := strings.CutPrefix(op.To, "@artifact/")
	if !ok && op.To != "@artifact" {
		return invalid("copy to '%s': must start with '@artifact/'", op.To)
	}
	to, err := cleanOrRoot(rawTo)
	if err != nil {
		return invalid("copy to '%s': %v", op.To, err)
	}
	excludes := make([]excludeMatcher, 0, len(op.Exclude))
	for _, ex := range op.Exclude {
		if err := checkAlternations(ex); err != nil {
			return invalid("copy from '%s': exclude '%s': %v", op.From, ex, err)
		}
		m, err := compileExclude(ex)
		if err != nil {
			return invalid("copy from '%s': malformed exclude pattern '%s': %v", op.From, ex, err)
		}
		excludes = append(excludes, m)
	}
	toDir := rawTo == "" || strings.HasSuffix(rawTo, "/")
	switch op.Strategy {
	case "", sourceextv1beta1.OverwriteStrategy, sourceextv1beta1.MergeStrategy, sourceextv1beta1.ExtractStrategy:
	default:
		return invalid("copy from '%s': unknown strategy '%s'", op.From, op.Strategy)
	}
	var tarGlob *excludeMatcher
	if op.Strategy == sourceextv1beta1.ExtractStrategy {
		// Flux matches an Extract glob with '{a,b}' alternatives and "**"
		// (its other strategies take braces literally); the exclude
		// matcher has those semantics.
		m, err := compileExclude(pattern)
		if err != nil {
			return invalid("copy from '%s': malformed glob pattern: %v", op.From, err)
		}
		tarGlob = &m
	}
	src, err := securepath.OpenRoot(op.SrcDir)
	if err != nil {
		return err
	}
	defer src.Close()
	c := &copier{op: op, src: src, out: out, excludes: excludes, tarGlob: tarGlob}
	base, isGlob := splitGlob(pattern)
	if !isGlob {
		fi, err := src.Stat(pattern)
		if errors.Is(err, fs.ErrNotExist) {
			return buildFailed("copy from '%s': no such file or directory in the source", op.From)
		}
		if err != nil {
			return invalid("copy from '%s': %v", op.From, err)
		}
		dest := to
		if toDir && pattern != "." {
			dest = path.Join(to, path.Base(pattern))
		}
		if fi.IsDir() && op.Strategy == sourceextv1beta1.ExtractStrategy {
			return buildFailed("copy from '%s': strategy Extract needs .tar.gz files, '%s' is a directory", op.From, pattern)
		} else if fi.IsDir() {
			err = c.tree(pattern, dest, pattern)
		} else if c.excluded(pattern, pattern) {
			// Flux skips a single file its excludes name, and succeeds.
			return nil
		} else if op.Strategy == sourceextv1beta1.ExtractStrategy {
			err = c.file(pattern, to)
		} else {
			err = c.file(pattern, dest)
		}
		if err != nil {
			return err
		}
	} else if err := c.glob(pattern, base, to); err != nil {
		return err
	}
	if c.files == 0 && c.skipped == 0 {
		return buildFailed("copy from '%s': the pattern matches no file", op.From)
	}
	return nil
}

// copier runs one Op.
type copier struct {
	op       Op
	src      *securepath.Root
	out      *securepath.Root
	excludes []excludeMatcher
	// tarGlob matches the from pattern of an Extract operation.
	tarGlob *excludeMatcher
	// files counts the files copied; skipped the matches an Extract
	// glob passes over (directories and files that are not tarballs).
	files, skipped int
}

// glob copies every match of pattern under base to the same path under
// to (relative to base); a matched directory is copied whole. An Extract
// glob unpacks every matched tarball into to and, as Flux, passes over the
// other matches.
func (c *copier) glob(pattern, base, to string) error {
	root := base
	if c.tarGlob != nil {
		root = braceBase(base)
	}
	if _, err := c.src.Stat(root); errors.Is(err, fs.ErrNotExist) {
		return buildFailed("copy from '%s': the pattern matches no file (no '%s' in the source)", c.op.From, root)
	}
	return fs.WalkDir(c.src.FS(), root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := p
		if isUnder(base, p) {
			rel = relTo(base, p)
		}
		if c.excluded(p, rel) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if c.tarGlob != nil {
			if p == root || !c.tarGlob.re.MatchString(p) {
				return nil
			}
			if d.IsDir() || !d.Type().IsRegular() || !isTarball(p) {
				c.skipped++
				return nil
			}
			return c.file(p, to)
		}
		if p == base || !Match(pattern, p) {
			return nil
		}
		if d.IsDir() {
			if err := c.tree(p, path.Join(to, rel), base); err != nil {
				return err
			}
			return fs.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return c.file(p, path.Join(to, rel))
	})
}

// tree copies the directory dir to dest; excludes match paths relative
// to base.
func (c *copier) tree(dir, dest, base string) error {
	return fs.WalkDir(c.src.FS(), dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && c.excluded(p, relTo(base, p)) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return c.file(p, path.Join(dest, relTo(dir, p)))
	})
}

// excluded reports whether an exclude pattern matches the source path p
// or rel, p relative to the operation's non-glob prefix (as Flux matches
// both), either whole or, for a pattern without '/', by its base name.
func (c *copier) excluded(p, rel string) bool {
	for _, m := range c.excludes {
		if m.match(rel) || (p != rel && m.match(p)) {
			return true
		}
	}
	return false
}

// file writes the source file p to dest with the operation's strategy.
func (c *copier) file(p, dest string) error {
	data, err := c.src.ReadFile(p)
	if err != nil {
		return err
	}
	c.files++
	switch c.op.Strategy {
	case sourceextv1beta1.ExtractStrategy:
		return c.extract(p, data, dest)
	case sourceextv1beta1.MergeStrategy:
		if old, err := c.out.ReadFile(dest); err == nil {
			merged, err := mergeYAML(old, data)
			if err != nil {
				return buildFailed("copy from '%s': merging '%s' into '%s': %v", c.op.From, p, dest, err)
			}
			data = merged
		}
	}
	return write(c.out, dest, data)
}

// extract unpacks the tarball p (read as data) into the directory dest.
func (c *copier) extract(p string, data []byte, dest string) error {
	if !isTarball(p) {
		return buildFailed("copy from '%s': strategy Extract needs .tar.gz files, '%s' is not one", c.op.From, p)
	}
	tmp, err := os.MkdirTemp("", "artifactgenerator-extract-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := tarball.Untar(strings.NewReader(string(data)), tmp, tarball.DefaultLimits()); err != nil {
		return buildFailed("copy from '%s': extracting '%s': %v", c.op.From, p, err)
	}
	root, err := securepath.OpenRoot(tmp)
	if err != nil {
		return err
	}
	defer root.Close()
	inner := &copier{op: Op{From: c.op.From}, src: root, out: c.out}
	if err := inner.tree(".", dest, "."); err != nil {
		return err
	}
	return nil
}

func write(out *securepath.Root, dest string, data []byte) error {
	if dest == "." || dest == "" {
		return invalid("copy to '@artifact/': a single file needs a file name or a directory ending in '/'")
	}
	if err := out.MkdirAll(path.Dir(dest), 0o755); err != nil {
		return err
	}
	return out.WriteFile(dest, data, 0o644)
}

// mergeYAML merges the YAML map src into dst, src's values winning and
// nested maps merged key by key (Helm's values merge).
func mergeYAML(dst, src []byte) ([]byte, error) {
	var a, b map[string]any
	if err := yaml.Unmarshal(dst, &a); err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(src, &b); err != nil {
		return nil, err
	}
	return yaml.Marshal(mergeMaps(a, b))
}

func mergeMaps(dst, src map[string]any) map[string]any {
	if dst == nil {
		dst = map[string]any{}
	}
	for k, v := range src {
		if sv, ok := v.(map[string]any); ok {
			if dv, ok := dst[k].(map[string]any); ok {
				dst[k] = mergeMaps(dv, sv)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}

// cleanOrRoot is securepath.Clean with "" meaning the root.
func cleanOrRoot(p string) (string, error) {
	if p == "" {
		return ".", nil
	}
	return securepath.Clean(p)
}

// isTarball reports whether p names a gzip tarball, as Extract needs.
func isTarball(p string) bool {
	return strings.HasSuffix(p, ".tar.gz") || strings.HasSuffix(p, ".tgz")
}

// isUnder reports whether the clean path p is base or below it.
func isUnder(base, p string) bool {
	return base == "." || p == base || strings.HasPrefix(p, base+"/")
}

// relTo returns p relative to base (both clean, p under base).
func relTo(base, p string) string {
	if base == "." {
		return p
	}
	if p == base {
		return "."
	}
	return strings.TrimPrefix(p, base+"/")
}
