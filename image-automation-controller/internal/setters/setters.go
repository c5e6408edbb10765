package setters

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/types"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	imagev1 "gotk.dev/pkg/apis/image/v1"
)

// Policies maps each ImagePolicy to the image it chose. Markers naming a
// policy that is absent are left alone.
type Policies map[types.NamespacedName]imagev1.ImageRef

// ObjectID identifies the Kubernetes object (YAML document) a change is in.
type ObjectID struct {
	APIVersion, Kind, Namespace, Name string
}

// String formats the object as Kind/namespace/name.
func (o ObjectID) String() string {
	if o.Namespace == "" {
		return o.Kind + "/" + o.Name
	}
	return o.Kind + "/" + o.Namespace + "/" + o.Name
}

// Change is one rewritten value.
type Change struct {
	// File is the path given to UpdateBytes (relative in a Result).
	File string
	// Line is the 1-based line of the value.
	Line int
	// Object is the document holding the value.
	Object ObjectID
	// Marker is the setter that applied.
	Marker Marker
	// OldValue and NewValue are the scalar before and after.
	OldValue, NewValue string
}

// Error is a marker or YAML problem at a position of a file.
type Error struct {
	File string
	Line int
	Err  error
}

// Error formats file:line: cause.
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// value returns what the marker sets, or ok=false when it sets nothing
// (no digest known).
func value(m Marker, ref imagev1.ImageRef) (string, bool) {
	switch m.Field {
	case FieldTag:
		return ref.Tag, ref.Tag != ""
	case FieldName:
		return ref.Name, ref.Name != ""
	case FieldDigest:
		return ref.Digest, ref.Digest != ""
	default:
		return ref.String(), ref.Name != "" && ref.Tag != ""
	}
}

// splice is one pending replacement of src[start:end].
type splice struct {
	start, end int
	text       string
}

// UpdateBytes rewrites the marked values of one YAML stream. It returns
// the input unchanged (same slice) when nothing changes. Malformed YAML or
// a malformed marker is an *Error naming file and line; nothing is
// rewritten then.
func UpdateBytes(file string, in []byte, policies Policies) ([]byte, []Change, error) {
	if !bytes.Contains(in, []byte(MarkerKey)) {
		return in, nil, nil
	}
	lines := lineStarts(in)
	dec := kyaml.NewDecoder(bytes.NewReader(in))
	var changes []Change
	var splices []splice
	for {
		var doc kyaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return in, nil, &Error{File: file, Err: fmt.Errorf("malformed YAML: %v", err)}
		}
		obj := objectID(&doc)
		err = walk(&doc, func(node *kyaml.Node, comment string, commentLine int) error {
			m, ok, err := ParseMarker(comment)
			if !ok {
				return nil
			}
			if err != nil {
				return &Error{File: file, Line: commentLine, Err: err}
			}
			if node.Kind != kyaml.ScalarNode {
				return &Error{File: file, Line: commentLine, Err: fmt.Errorf("setter marker %s is not on a scalar value", m)}
			}
			ref, found := policies[types.NamespacedName{Namespace: m.Namespace, Name: m.Name}]
			if !found {
				return nil
			}
			newValue, ok := value(m, ref)
			if !ok || newValue == node.Value {
				return nil
			}
			sp, err := locate(in, lines, node)
			if err != nil {
				return &Error{File: file, Line: node.Line, Err: err}
			}
			sp.text = render(node, newValue)
			splices = append(splices, sp)
			changes = append(changes, Change{File: file, Line: node.Line, Object: obj, Marker: m, OldValue: node.Value, NewValue: newValue})
			return nil
		})
		if err != nil {
			return in, nil, err
		}
	}
	if len(splices) == 0 {
		return in, nil, nil
	}
	sort.Slice(splices, func(i, j int) bool { return splices[i].start < splices[j].start })
	var out bytes.Buffer
	out.Grow(len(in) + 64)
	prev := 0
	for _, sp := range splices {
		if sp.start < prev {
			return in, nil, &Error{File: file, Err: errors.New("overlapping setter values")}
		}
		out.Write(in[prev:sp.start])
		out.WriteString(sp.text)
		prev = sp.end
	}
	out.Write(in[prev:])
	// The result must still parse: a splice never changes the structure.
	if err := parses(out.Bytes()); err != nil {
		return in, nil, &Error{File: file, Err: fmt.Errorf("rewriting would break the YAML: %v", err)}
	}
	return out.Bytes(), changes, nil
}

// walk calls fn for every value that carries a line comment, with the
// comment and its line. A comment after `key: value` belongs to the
// value; yaml.v3 attaches it to the value or, for block collections, the key.
func walk(n *kyaml.Node, fn func(node *kyaml.Node, comment string, line int) error) error {
	switch n.Kind {
	case kyaml.DocumentNode, kyaml.SequenceNode:
		for _, c := range n.Content {
			if c.Kind == kyaml.ScalarNode && c.LineComment != "" {
				if err := fn(c, c.LineComment, c.Line); err != nil {
					return err
				}
			}
			if err := walk(c, fn); err != nil {
				return err
			}
		}
	case kyaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			comment, line := v.LineComment, v.Line
			if comment == "" || v.Kind != kyaml.ScalarNode {
				if k.LineComment != "" {
					comment, line = k.LineComment, k.Line
				}
			}
			if comment != "" {
				if err := fn(v, comment, line); err != nil {
					return err
				}
			}
			if err := walk(v, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

func objectID(doc *kyaml.Node) ObjectID {
	var id ObjectID
	if len(doc.Content) == 0 || doc.Content[0].Kind != kyaml.MappingNode {
		return id
	}
	root := doc.Content[0]
	get := func(m *kyaml.Node, key string) *kyaml.Node {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				return m.Content[i+1]
			}
		}
		return nil
	}
	if v := get(root, "apiVersion"); v != nil {
		id.APIVersion = v.Value
	}
	if v := get(root, "kind"); v != nil {
		id.Kind = v.Value
	}
	if md := get(root, "metadata"); md != nil && md.Kind == kyaml.MappingNode {
		if v := get(md, "name"); v != nil {
			id.Name = v.Value
		}
		if v := get(md, "namespace"); v != nil {
			id.Namespace = v.Value
		}
	}
	return id
}

func lineStarts(b []byte) []int {
	starts := []int{0}
	for i, c := range b {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// locate finds the bytes of a scalar's token in src from the parser's
// line and (character) column, and checks they spell the value, so only
// single-line plain or quoted scalars are ever rewritten.
func locate(src []byte, lines []int, n *kyaml.Node) (splice, error) {
	if n.Style&(kyaml.LiteralStyle|kyaml.FoldedStyle) != 0 {
		return splice{}, errors.New("setter values must be single-line scalars, not block scalars")
	}
	if n.Style&kyaml.TaggedStyle != 0 || n.Anchor != "" {
		return splice{}, errors.New("setter values must not carry a tag or an anchor")
	}
	if n.Line < 1 || n.Line > len(lines) || n.Column < 1 {
		return splice{}, errors.New("cannot locate the value")
	}
	lineStart := lines[n.Line-1]
	lineEnd := len(src)
	if n.Line < len(lines) {
		lineEnd = lines[n.Line] - 1
	}
	line := src[lineStart:lineEnd]
	// Columns count characters; convert to a byte offset.
	off, col := 0, 1
	for col < n.Column && off < len(line) {
		_, size := utf8.DecodeRune(line[off:])
		off += size
		col++
	}
	start := lineStart + off
	rest := src[start:lineEnd]
	var token string
	switch {
	case n.Style&kyaml.DoubleQuotedStyle != 0:
		end := closingQuote(rest)
		if end < 0 {
			return splice{}, errors.New("setter values must be single-line scalars")
		}
		token = string(rest[:end+1])
		if unq, err := strconv.Unquote(token); err != nil || unq != n.Value {
			// YAML escapes that Go does not share: refuse rather than guess.
			return splice{}, errors.New("cannot rewrite this double-quoted value; use a plain or single-quoted one")
		}
	case n.Style&kyaml.SingleQuotedStyle != 0:
		token = "'" + strings.ReplaceAll(n.Value, "'", "''") + "'"
	default:
		token = n.Value
	}
	if !bytes.HasPrefix(rest, []byte(token)) {
		return splice{}, errors.New("setter values must be single-line scalars")
	}
	return splice{start: start, end: start + len(token)}, nil
}

func closingQuote(b []byte) int {
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// render writes the new value in the old value's style; a plain value
// that would not read back as the same string (e.g. "1.0", a number) is
// quoted instead.
func render(n *kyaml.Node, v string) string {
	switch {
	case n.Style&kyaml.DoubleQuotedStyle != 0:
		return strconv.Quote(v)
	case n.Style&kyaml.SingleQuotedStyle != 0:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	out, err := kyaml.Marshal(v)
	s := strings.TrimSuffix(string(out), "\n")
	if err != nil || strings.Contains(s, "\n") {
		return strconv.Quote(v)
	}
	return s
}

func parses(b []byte) error {
	dec := kyaml.NewDecoder(bytes.NewReader(b))
	for {
		var n kyaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Setter returns the marker value that made the change, e.g.
// "flux-system:my-app:tag", for commit message templates.
func (c Change) Setter() string { return c.Marker.String() }
