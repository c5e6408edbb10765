package generator

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	sourceextv1beta1 "gotk.dev/pkg/apis/sourceextensions/v1beta1"
)

// Pattern is a parsed spec.pathPattern "@<alias>/<pattern>": the source
// alias whose tree is searched and the directory pattern, in which each
// capture ("{app}") stands for one whole or partial path segment.
type Pattern struct {
	// Spec is the pathPattern as written, for messages.
	Spec string
	// Alias is the source searched.
	Alias string
	// Names are the captures, in order.
	Names []string
	re    *regexp.Regexp
	// depth is the number of segments a matching directory has, so the
	// walk never descends below it.
	depth int
}

// captureName is what a capture may be called: an identifier, further
// checked to be a label key since it labels the generated objects.
var captureName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// scanTemplate splits s into literal text and "{name}" captures, calling
// lit and capture in order; unbalanced braces and bad names are errors.
func scanTemplate(s string, lit func(string), capture func(string) error) error {
	for len(s) > 0 {
		open, close := strings.IndexByte(s, '{'), strings.IndexByte(s, '}')
		if close >= 0 && (open < 0 || close < open) {
			return fmt.Errorf("'}' without an opening '{'")
		}
		if open < 0 {
			lit(s)
			return nil
		}
		lit(s[:open])
		end := strings.IndexByte(s[open:], '}')
		if end < 0 {
			return fmt.Errorf("'{' without a closing '}'")
		}
		name := s[open+1 : open+end]
		switch {
		case name == "":
			return fmt.Errorf("empty capture '{}'")
		case !captureName.MatchString(name):
			return fmt.Errorf("capture '{%s}' must be a name matching [A-Za-z_][A-Za-z0-9_]*", name)
		}
		if err := capture(name); err != nil {
			return err
		}
		s = s[open+end+1:]
	}
	return nil
}

// ParsePattern parses a pathPattern. Every error is an *Error with
// reason ValidationFailed naming what is wrong.
func ParsePattern(spec string) (*Pattern, error) {
	rest, ok := strings.CutPrefix(spec, "@")
	alias, pat, found := strings.Cut(rest, "/")
	if !ok || alias == "" || !found || pat == "" {
		return nil, invalid("pathPattern '%s': must be '@<alias>/<pattern>'", spec)
	}
	p := &Pattern{Spec: spec, Alias: alias, depth: strings.Count(pat, "/") + 1}
	for seg := range strings.SplitSeq(pat, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return nil, invalid("pathPattern '%s': segment '%s' can never match a directory", spec, seg)
		}
	}
	var re strings.Builder
	re.WriteString("^")
	seen := map[string]bool{}
	err := scanTemplate(pat, func(s string) { re.WriteString(regexp.QuoteMeta(s)) }, func(name string) error {
		if seen[name] {
			return fmt.Errorf("capture '{%s}' appears twice", name)
		}
		if errs := validation.IsQualifiedName(name); len(errs) > 0 {
			return fmt.Errorf("capture '{%s}' is not a valid label key: %s", name, strings.Join(errs, "; "))
		}
		seen[name] = true
		p.Names = append(p.Names, name)
		re.WriteString("([^/]+)")
		return nil
	})
	if err != nil {
		return nil, invalid("pathPattern '%s': %v", spec, err)
	}
	re.WriteString("$")
	p.re = regexp.MustCompile(re.String()) // quoted literals and fixed groups always compile
	return p, nil
}

// Render fills the "{name}" placeholders of tmpl from vars; a placeholder
// vars lacks is an error.
func Render(tmpl string, vars map[string]string) (string, error) {
	var b strings.Builder
	err := scanTemplate(tmpl, func(s string) { b.WriteString(s) }, func(name string) error {
		v, ok := vars[name]
		if !ok {
			return fmt.Errorf("placeholder '{%s}' is not a capture of the pathPattern", name)
		}
		b.WriteString(v)
		return nil
	})
	return b.String(), err
}

// CheckTemplates reports, before any source is fetched, an artifact
// whose name or copy paths hold a placeholder the pattern does not
// capture or an unbalanced brace.
func (p *Pattern) CheckTemplates(outs []sourceextv1beta1.OutputArtifact) error {
	vars := map[string]string{}
	for _, n := range p.Names {
		vars[n] = "x"
	}
	for _, out := range outs {
		if _, err := Render(out.Name, vars); err != nil {
			return invalid("artifact '%s' name: %v", out.Name, err)
		}
		for i, op := range out.Copy {
			for field, tmpl := range map[string]string{"from": op.From, "to": op.To} {
				if _, err := Render(tmpl, vars); err != nil {
					return invalid("artifact '%s' copy[%d] %s '%s': %v", out.Name, i, field, tmpl, err)
				}
			}
		}
	}
	return nil
}

// Output is one artifact to generate: the spec's artifact, rendered for
// one matched directory when there is a pattern.
type Output struct {
	sourceextv1beta1.OutputArtifact
	// Labels are the captures (name = lowercased value) to set on the
	// ExternalArtifact; nil without a pattern.
	Labels map[string]string
}

// Plain returns the spec's artifacts as they are (no pathPattern).
func Plain(outs []sourceextv1beta1.OutputArtifact) []Output {
	res := make([]Output, len(outs))
	for i, out := range outs {
		res[i] = Output{OutputArtifact: out}
	}
	return res
}

// Expand walks srcDir (the extracted tree of the pattern's alias) and
// renders outs once per directory matching the pattern, in lexical
// order. Names and labels take the lowercased captures, copy paths the
// captures as found. A capture that is no label value, a rendered name
// that is no object name and two directories giving one name are
// *Error ValidationFailed; a failing walk is a plain error.
func (p *Pattern) Expand(srcDir string, outs []sourceextv1beta1.OutputArtifact) ([]Output, error) {
	var res []Output
	byName := map[string]string{}
	err := filepath.WalkDir(srcDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// Symlinks are not directories here: a link never yields an artifact.
		if !d.IsDir() || path == srcDir {
			return nil
		}
		rel, err := filepath.Rel(srcDir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if m := p.re.FindStringSubmatch(rel); m != nil {
			generated, err := p.render(rel, m[1:], outs, byName)
			if err != nil {
				return err
			}
			res = append(res, generated...)
		}
		if strings.Count(rel, "/")+1 >= p.depth {
			return filepath.SkipDir
		}
		return nil
	})
	var gerr *Error
	if errors.As(err, &gerr) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("pathPattern '%s': walking the source: %w", p.Spec, err)
	}
	return res, nil
}

// render makes the outputs of one matched directory dir, whose captured
// values are vals; byName maps the names given so far to their directory.
func (p *Pattern) render(dir string, vals []string, outs []sourceextv1beta1.OutputArtifact, byName map[string]string) ([]Output, error) {
	raw, lower := map[string]string{}, map[string]string{}
	for i, name := range p.Names {
		raw[name], lower[name] = vals[i], strings.ToLower(vals[i])
		if errs := validation.IsValidLabelValue(lower[name]); len(errs) > 0 {
			return nil, invalid("pathPattern '%s': directory '%s' captures %s='%s', not a valid label value: %s",
				p.Spec, dir, name, lower[name], strings.Join(errs, "; "))
		}
	}
	res := make([]Output, 0, len(outs))
	for _, out := range outs {
		o := Output{OutputArtifact: *out.DeepCopy(), Labels: lower}
		var err error
		if o.Name, err = Render(out.Name, lower); err != nil {
			return nil, invalid("artifact '%s' name: %v", out.Name, err)
		}
		if errs := validation.IsDNS1123Subdomain(o.Name); len(errs) > 0 {
			return nil, invalid("pathPattern '%s': directory '%s' gives artifact name '%s', not a valid object name: %s",
				p.Spec, dir, o.Name, strings.Join(errs, "; "))
		}
		if prev, dup := byName[o.Name]; dup && prev == dir {
			return nil, invalid("pathPattern '%s': directory '%s' gives two artifacts the name '%s'", p.Spec, dir, o.Name)
		} else if dup {
			return nil, invalid("pathPattern '%s': directories '%s' and '%s' both give artifact name '%s'", p.Spec, prev, dir, o.Name)
		}
		byName[o.Name] = dir
		for i := range o.Copy {
			op := &o.Copy[i]
			if op.From, err = Render(op.From, raw); err == nil {
				op.To, err = Render(op.To, raw)
			}
			if err != nil {
				return nil, invalid("artifact '%s' copy[%d]: %v", out.Name, i, err)
			}
		}
		res = append(res, o)
	}
	return res, nil
}
