package sops

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A SOPS document is an ordered tree: the MAC is a hash over its leaves
// in document order, and comment regexes look at the comments preceding
// a value, so maps keep their order and comments are items of their own.

// treeBranch is a mapping in document order.
type treeBranch []treeItem

// treeItem is one mapping entry. key is a string, or a comment, in which
// case value is nil. value is a scalar (string, int, float64, bool, nil,
// time.Time), a treeBranch or a []any whose elements may be comments.
type treeItem struct {
	key   any
	value any
}

// comment is one comment line without its "#"; inline comments follow a
// value on the same line.
type comment struct {
	value  string
	inline bool
}

// isComplex reports whether v is a mapping or a list, which dotenv
// cannot hold.
func isComplex(v any) bool {
	switch v.(type) {
	case treeBranch, []any:
		return true
	}
	return false
}

// scalarString writes a scalar the way SOPS's dotenv store does: a
// whole float keeps a ".0" so it still reads as a float.
func scalarString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		s := strconv.FormatFloat(v, 'G', -1, 64)
		if !strings.ContainsAny(s, ".E") {
			s = strconv.FormatFloat(v, 'f', 1, 64)
		}
		return s
	case bool:
		return strconv.FormatBool(v)
	case time.Time:
		return v.Format(time.RFC3339)
	case fmt.Stringer:
		return v.String()
	}
	return fmt.Sprintf("%v", v)
}
