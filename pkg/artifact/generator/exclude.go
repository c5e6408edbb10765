package generator

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// MaxAlternationCommas is how many commas the '{}' groups of one copy
// pattern (from or exclude) may hold altogether. Flux's matcher tries
// each alternative in turn, so it refuses patterns past this bound; gotk
// refuses the same manifests.
const MaxAlternationCommas = 20

// checkAlternations refuses a pattern whose '{}' groups hold more than
// MaxAlternationCommas commas. Commas outside a group do not count; a
// backslash escapes the next byte.
func checkAlternations(pattern string) error {
	commas, depth := 0, 0
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth > 0 {
				commas++
			}
		}
	}
	if commas > MaxAlternationCommas {
		return fmt.Errorf("pattern has %d alternatives in '{}' groups, at most %d are allowed", commas, MaxAlternationCommas)
	}
	return nil
}

// excludeMatcher is one compiled exclude pattern.
type excludeMatcher struct {
	re *regexp.Regexp
	// baseName: a pattern without '/' also matches a path's last element.
	baseName bool
}

// compileExclude compiles an exclude pattern as Flux matches excludes: '*'
// and '?' within a path element, a "**" element across any number of
// them, '[...]' classes ('!' or '^' negates), '{a,b}' alternatives (which
// may nest) and '\' escapes. It compiles to a regular expression, so
// matching takes linear time whatever the alternatives.
func compileExclude(pattern string) (excludeMatcher, error) {
	pattern = strings.TrimPrefix(pattern, "/")
	var b strings.Builder
	b.WriteString("^")
	depth := 0
	for i := 0; i < len(pattern); i++ {
		switch ch := pattern[i]; ch {
		case '\\':
			if i+1 == len(pattern) {
				return excludeMatcher{}, errors.New("trailing '\\'")
			}
			i++
			b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		case '*':
			whole := (i == 0 || pattern[i-1] == '/') && strings.HasPrefix(pattern[i:], "**") &&
				(i+2 == len(pattern) || pattern[i+2] == '/')
			switch {
			case whole && i+2 == len(pattern):
				b.WriteString(".*")
				i++
			case whole:
				// "**/" matches no directory or any number of them.
				b.WriteString("(?:.*/)?")
				i += 2
			default:
				for i+1 < len(pattern) && pattern[i+1] == '*' {
					i++
				}
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		case '[':
			class, n, err := globClass(pattern[i:])
			if err != nil {
				return excludeMatcher{}, err
			}
			b.WriteString(class)
			i += n - 1
		case '{':
			depth++
			b.WriteString("(?:")
		case ',':
			if depth > 0 {
				b.WriteString("|")
			} else {
				b.WriteString(",")
			}
		case '}':
			if depth > 0 {
				depth--
				b.WriteString(")")
			} else {
				b.WriteString(`\}`)
			}
		case '/':
			if depth == 0 && pattern[i+1:] == "**" {
				// "dir/**" matches dir itself and everything under it.
				b.WriteString("(?:/.*)?")
				i = len(pattern)
			} else {
				b.WriteString("/")
			}
		default:
			b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		}
	}
	if depth > 0 {
		return excludeMatcher{}, errors.New("unclosed '{'")
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return excludeMatcher{}, err
	}
	return excludeMatcher{re: re, baseName: !strings.Contains(pattern, "/")}, nil
}

// globClass translates the '[...]' class at the start of s into a
// regular-expression class and returns how many bytes of s it used.
func globClass(s string) (string, int, error) {
	var b strings.Builder
	b.WriteString("[")
	i := 1
	if i < len(s) && (s[i] == '!' || s[i] == '^') {
		b.WriteString("^/")
		i++
	}
	for first := true; i < len(s); i++ {
		switch c := s[i]; {
		case c == ']' && !first:
			b.WriteString("]")
			return b.String(), i + 1, nil
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteString(regexp.QuoteMeta(s[i : i+1]))
		case c == '-':
			b.WriteString("-")
		default:
			b.WriteString(regexp.QuoteMeta(s[i : i+1]))
		}
		first = false
	}
	return "", 0, errors.New("unclosed '['")
}

// match reports whether the slash-separated path rel matches, whole or,
// for a pattern without '/', by its last element.
func (m excludeMatcher) match(rel string) bool {
	if m.re.MatchString(rel) {
		return true
	}
	if m.baseName {
		if i := strings.LastIndexByte(rel, '/'); i >= 0 {
			return m.re.MatchString(rel[i+1:])
		}
	}
	return false
}
