// Package generator builds ArtifactGenerator outputs: it runs copy
// operations ("@alias/<glob>" → "@artifact/<path>") from extracted source
// artifacts into an output tree and digests that tree, so an output whose
// content did not change keeps its artifact.
package generator

import (
	"path"
	"strings"
)

// hasMeta reports whether a path segment is a glob.
func hasMeta(s string) bool { return strings.ContainsAny(s, "*?[") }

// splitGlob returns the literal directory prefix of pattern (the segments
// before the first glob segment, "." when none) and whether pattern has a
// glob at all.
func splitGlob(pattern string) (base string, isGlob bool) {
	segs := strings.Split(pattern, "/")
	for i, s := range segs {
		if hasMeta(s) {
			if i == 0 {
				return ".", true
			}
			return path.Join(segs[:i]...), true
		}
	}
	return pattern, false
}

// braceBase trims base (a literal prefix from splitGlob) before its
// first segment holding a '{' group, for matchers that read braces as
// alternatives.
func braceBase(base string) string {
	segs := strings.Split(base, "/")
	for i, s := range segs {
		if strings.Contains(s, "{") {
			if i == 0 {
				return "."
			}
			return path.Join(segs[:i]...)
		}
	}
	return base
}

// Match reports whether the slash-separated name matches pattern, where a
// "**" segment matches any number (zero included) of segments and other
// segments match as path.Match does. A malformed pattern matches nothing.
func Match(pattern, name string) bool {
	return matchSegs(strings.Split(pattern, "/"), strings.Split(name, "/"))
}

func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			for i := 0; i <= len(name); i++ {
				if matchSegs(rest, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, err := path.Match(pat[0], name[0]); err != nil || !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// ValidPattern reports whether every segment of pattern is a well-formed
// glob.
func ValidPattern(pattern string) bool {
	for _, s := range strings.Split(pattern, "/") {
		if s == "**" {
			continue
		}
		if _, err := path.Match(s, ""); err != nil {
			return false
		}
	}
	return true
}
