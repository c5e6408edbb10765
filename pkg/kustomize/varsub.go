package kustomize

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

// varName is what a substitution variable may be called.
var varName = regexp.MustCompile(`^[_a-zA-Z][_a-zA-Z0-9]*$`)

// ValidVarName reports whether name can be used as a variable.
func ValidVarName(name string) bool { return varName.MatchString(name) }

// ErrUndefinedVars is wrapped when strict substitution meets variables
// that have no value and no default.
var ErrUndefinedVars = errors.New("undefined variables")

// SubstituteString replaces ${var} references in s. Supported forms:
// ${var}, ${var:=default} and ${var:-default} (default when unset or
// empty), ${var=default} and ${var-default} (default when unset); "$${"
// yields a literal "${". A reference with no value and no default is
// collected in undefined (and replaced by "") when strict is false; with
// strict it is kept as written so the caller can report it.
func SubstituteString(s string, vars map[string]string, strict bool) (out string, undefined []string, err error) {
	if !strings.Contains(s, "${") {
		return s, nil, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${") {
			b.WriteString("${")
			i += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			b.WriteByte(s[i])
			i++
			continue
		}
		end := closingBrace(s, i+2)
		if end < 0 {
			return "", nil, fmt.Errorf("unterminated variable reference at offset %d", i)
		}
		expr := s[i+2 : end]
		val, ok, err := evalRef(expr, vars)
		if err != nil {
			return "", nil, err
		}
		if !ok {
			name, _ := splitRef(expr)
			undefined = append(undefined, name)
			if strict {
				val = s[i : end+1]
			}
		}
		b.WriteString(val)
		i = end + 1
	}
	return b.String(), undefined, nil
}

// closingBrace finds the "}" closing a reference starting at from,
// allowing nested references in defaults.
func closingBrace(s string, from int) int {
	depth := 1
	for j := from; j < len(s); j++ {
		switch {
		case s[j] == '{' && j > 0 && s[j-1] == '$':
			depth++
		case s[j] == '}':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// splitRef splits "name:=default" into the name and the operator+default.
func splitRef(expr string) (name, rest string) {
	for j := 0; j < len(expr); j++ {
		c := expr[j]
		if c == ':' || c == '=' || c == '-' {
			return expr[:j], expr[j:]
		}
	}
	return expr, ""
}

// evalRef evaluates the inside of one ${...}; ok is false when the
// variable has no value and no default applies.
func evalRef(expr string, vars map[string]string) (string, bool, error) {
	name, rest := splitRef(expr)
	if !ValidVarName(name) {
		return "", false, fmt.Errorf("invalid variable reference ${%s}: a name must match %s", truncate(expr, 64), varName)
	}
	val, set := vars[name]
	if rest == "" {
		return val, set, nil
	}
	var def string
	var useIfEmpty bool
	switch {
	case strings.HasPrefix(rest, ":="), strings.HasPrefix(rest, ":-"):
		def, useIfEmpty = rest[2:], true
	case strings.HasPrefix(rest, "="), strings.HasPrefix(rest, "-"):
		def = rest[1:]
	default:
		return "", false, fmt.Errorf("invalid variable reference ${%s}: unsupported operator", truncate(expr, 64))
	}
	if set && (!useIfEmpty || val != "") {
		return val, true, nil
	}
	// Defaults may themselves hold references.
	d, _, err := SubstituteString(def, vars, false)
	if err != nil {
		return "", false, err
	}
	return d, true, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Substitute runs post-build variable substitution over objs in place.
// Objects annotated kustomize.toolkit.fluxcd.io/substitute: disabled are
// skipped. With strict, variables without a value or default fail the
// substitution with an error naming them and the object; values are never
// part of an error.
func Substitute(objs []*unstructured.Unstructured, vars map[string]string, strict bool) error {
	for i, u := range objs {
		if strings.EqualFold(u.GetAnnotations()[kustomizev1.SubstituteAnnotation], kustomizev1.DisabledValue) {
			continue
		}
		b, err := yaml.Marshal(u.Object)
		if err != nil {
			return fmt.Errorf("%s: %w", ObjectRef(u), err)
		}
		out, undef, err := SubstituteString(string(b), vars, strict)
		if err != nil {
			return fmt.Errorf("variable substitution failed for %s: %w", ObjectRef(u), err)
		}
		if strict && len(undef) > 0 {
			return fmt.Errorf("variable substitution failed for %s: %w: %s (define them in postBuild.substitute or substituteFrom, or give a default with ${var:=default})",
				ObjectRef(u), ErrUndefinedVars, strings.Join(uniqueSorted(undef), ", "))
		}
		if out == string(b) {
			continue
		}
		// Through JSON so numbers become int64 as in any decoded object.
		j, err := yaml.YAMLToJSON([]byte(out))
		if err != nil {
			return fmt.Errorf("variable substitution for %s produced invalid YAML: %w", ObjectRef(u), err)
		}
		nu := &unstructured.Unstructured{}
		if err := nu.UnmarshalJSON(j); err != nil {
			return fmt.Errorf("variable substitution for %s produced an invalid object: %w", ObjectRef(u), err)
		}
		objs[i] = nu
	}
	return nil
}

func uniqueSorted(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// ObjectRef names an object as users read it: Kind/namespace/name or
// Kind/name for cluster-scoped objects.
func ObjectRef(u *unstructured.Unstructured) string {
	if ns := u.GetNamespace(); ns != "" {
		return u.GetKind() + "/" + ns + "/" + u.GetName()
	}
	return u.GetKind() + "/" + u.GetName()
}
