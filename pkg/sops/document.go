package sops

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
)

// The SOPS library's own YAML, JSON and dotenv stores import its config
// package, and its root package links every cloud KMS client. The codecs
// below read and write the same documents as those stores: the tree they
// build (order, comments, value types) is what SOPS computed the MAC
// over, so a file encrypted by the sops CLI verifies here.

// codec converts one file format to and from SOPS trees.
type codec struct {
	load func([]byte) ([]treeBranch, error)
	emit func([]treeBranch) ([]byte, error)
	// flatMetadata says the format stores the "sops" metadata as
	// top-level sops_-prefixed keys (dotenv) instead of a nested mapping.
	flatMetadata bool
}

func codecFor(f format) (codec, bool) {
	switch f {
	case formatYAML:
		return codec{load: loadYAML, emit: emitYAML}, true
	case formatJSON:
		return codec{load: loadJSON, emit: emitJSON}, true
	case formatDotenv:
		return codec{load: loadDotenv, emit: emitDotenv, flatMetadata: true}, true
	}
	return codec{}, false
}

// loadEncrypted parses an encrypted document and splits off its metadata.
func (c codec) loadEncrypted(b []byte) ([]treeBranch, *metadata, error) {
	branches, err := c.load(b)
	if err != nil {
		return nil, nil, err
	}
	return extractMetadata(branches, c.flatMetadata)
}

// --- YAML ---

// loadYAML reads every document of a YAML stream as one branch. Comments
// become Comment items in the position SOPS gives them, because comment
// regexes in the metadata decide what is encrypted by what precedes it.
func loadYAML(in []byte) ([]treeBranch, error) {
	var branches []treeBranch
	dec := yamlv3.NewDecoder(bytes.NewReader(in))
	for {
		var doc yamlv3.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return branches, nil
		}
		if err != nil {
			return nil, fmt.Errorf("invalid YAML: %w", err)
		}
		// Decoding the whole document first rejects duplicate keys and
		// alias bombs before the tree expands aliases.
		var probe any
		if err := doc.Decode(&probe); err != nil {
			return nil, fmt.Errorf("invalid YAML: %w", err)
		}
		branch, err := yamlBranch(nil, &doc, true)
		if err != nil {
			return nil, err
		}
		branches = append(branches, branch)
	}
}

// yamlComments appends each line of a node comment as a Comment item.
func yamlComments(branch treeBranch, text string, inline bool) treeBranch {
	for _, line := range commentLines(text) {
		branch = append(branch, treeItem{key: comment{value: line, inline: inline}})
	}
	return branch
}

func listComments(list []any, text string, inline bool) []any {
	for _, line := range commentLines(text) {
		list = append(list, comment{value: line, inline: inline})
	}
	return list
}

func commentLines(text string) []string {
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if l != "" {
			lines = append(lines, strings.TrimPrefix(l, "#"))
		}
	}
	return lines
}

// yamlBranch appends a document or mapping node's entries to branch;
// ownComments says whether the node's own comments belong here (they do
// not when an enclosing sequence already placed them).
func yamlBranch(branch treeBranch, n *yamlv3.Node, ownComments bool) (treeBranch, error) {
	if branch == nil {
		branch = treeBranch{}
	}
	if ownComments {
		branch = yamlComments(branch, n.HeadComment, false)
		branch = yamlComments(branch, n.LineComment, false)
	}
	switch n.Kind {
	case yamlv3.DocumentNode:
		for _, c := range n.Content {
			var err error
			if branch, err = yamlBranch(branch, c, true); err != nil {
				return nil, err
			}
		}
	case yamlv3.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			branch = yamlComments(branch, k.HeadComment, false)
			branch = yamlComments(branch, k.LineComment, false)
			scalar := v.Kind == yamlv3.ScalarNode || v.Kind == yamlv3.AliasNode
			if scalar {
				branch = yamlComments(branch, v.HeadComment, false)
				branch = yamlComments(branch, v.LineComment, true)
			}
			var key any
			if err := k.Decode(&key); err != nil {
				return nil, fmt.Errorf("invalid YAML key at line %d: %w", k.Line, err)
			}
			value, err := yamlValue(v, scalar)
			if err != nil {
				return nil, err
			}
			branch = append(branch, treeItem{key: key, value: value})
			if scalar {
				branch = yamlComments(branch, v.FootComment, false)
			}
			branch = yamlComments(branch, k.FootComment, false)
		}
	case yamlv3.ScalarNode:
		// An empty document ("---" alone) is an empty branch.
		if n.ShortTag() != "!!null" {
			return nil, fmt.Errorf("invalid YAML: line %d: a SOPS document must be a mapping, not a value", n.Line)
		}
	case yamlv3.SequenceNode:
		return nil, fmt.Errorf("invalid YAML: line %d: a SOPS document must be a mapping, not a sequence", n.Line)
	case yamlv3.AliasNode:
		return yamlBranch(branch, n.Alias, false)
	}
	if ownComments {
		branch = yamlComments(branch, n.FootComment, false)
	}
	return branch, nil
}

// yamlValue converts a value node; commentsPlaced says the caller already
// turned the node's own comments into items.
func yamlValue(n *yamlv3.Node, commentsPlaced bool) (any, error) {
	switch n.Kind {
	case yamlv3.MappingNode:
		return yamlBranch(nil, n, !commentsPlaced)
	case yamlv3.SequenceNode:
		list := []any{}
		if !commentsPlaced {
			list = listComments(list, n.HeadComment, false)
			list = listComments(list, n.LineComment, false)
		}
		for _, item := range n.Content {
			list = listComments(list, item.HeadComment, false)
			list = listComments(list, item.LineComment, true)
			v, err := yamlValue(item, true)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
			list = listComments(list, item.FootComment, false)
		}
		if !commentsPlaced {
			list = listComments(list, n.FootComment, false)
		}
		return list, nil
	case yamlv3.AliasNode:
		return yamlValue(n.Alias, false)
	default:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("invalid YAML value at line %d: %w", n.Line, err)
		}
		return v, nil
	}
}

// emitYAML writes each branch as a YAML document, comments included.
func emitYAML(branches []treeBranch) ([]byte, error) {
	var buf bytes.Buffer
	enc := yamlv3.NewEncoder(&buf)
	enc.SetIndent(2)
	for _, b := range branches {
		m, err := yamlMappingNode(b)
		if err != nil {
			return nil, err
		}
		if err := enc.Encode(&yamlv3.Node{Kind: yamlv3.DocumentNode, Content: []*yamlv3.Node{m}}); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// pendingComments gathers Comment items until the next value they belong to.
type pendingComments struct{ head, line []string }

func (p *pendingComments) add(c comment) {
	if c.inline {
		p.line = append(p.line, c.value)
	} else {
		p.head = append(p.head, c.value)
	}
}

func joinComments(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return "#" + strings.Join(lines, "\n#")
}

// attach puts the pending comments on the next key (head) and value
// (line), and clears them.
func (p *pendingComments) attach(head, line *yamlv3.Node) {
	head.HeadComment = joinComments(p.head)
	line.LineComment = joinComments(p.line)
	p.head, p.line = nil, nil
}

// trail puts comments left after the last entry under it.
func (p *pendingComments) trail(parent *yamlv3.Node, last *yamlv3.Node) {
	rest := joinComments(append(p.head, p.line...))
	if rest == "" {
		return
	}
	if last == nil {
		parent.HeadComment = rest
	} else {
		last.FootComment = rest
	}
}

func yamlMappingNode(b treeBranch) (*yamlv3.Node, error) {
	m := &yamlv3.Node{Kind: yamlv3.MappingNode}
	var pending pendingComments
	var lastKey *yamlv3.Node
	for _, item := range b {
		if c, ok := item.key.(comment); ok {
			pending.add(c)
			continue
		}
		k := &yamlv3.Node{}
		if err := k.Encode(item.key); err != nil {
			return nil, err
		}
		v, err := yamlValueNode(item.value)
		if err != nil {
			return nil, err
		}
		pending.attach(k, v)
		m.Content = append(m.Content, k, v)
		lastKey = k
	}
	pending.trail(m, lastKey)
	return m, nil
}

func yamlValueNode(v any) (*yamlv3.Node, error) {
	switch v := v.(type) {
	case treeBranch:
		return yamlMappingNode(v)
	case []any:
		s := &yamlv3.Node{Kind: yamlv3.SequenceNode}
		var pending pendingComments
		var last *yamlv3.Node
		for _, item := range v {
			if c, ok := item.(comment); ok {
				pending.add(c)
				continue
			}
			n, err := yamlValueNode(item)
			if err != nil {
				return nil, err
			}
			pending.attach(n, n)
			s.Content = append(s.Content, n)
			last = n
		}
		pending.trail(s, last)
		return s, nil
	case float64:
		return yamlFloatNode(v), nil
	default:
		n := &yamlv3.Node{}
		if err := n.Encode(v); err != nil {
			return nil, err
		}
		return n, nil
	}
}

// yamlFloatNode keeps a whole float a float ("1.0", not "1", which would
// read back as an integer).
func yamlFloatNode(f float64) *yamlv3.Node {
	n := &yamlv3.Node{}
	_ = n.Encode(f) // encoding a float64 cannot fail
	if !strings.ContainsAny(n.Value, ".eEnN") {
		n.Value += ".0"
		n.Tag = "!!float"
	}
	return n
}

// --- JSON ---

// loadJSON reads one top-level object, keeping key order; numbers are
// ints when they are integers in int64 range, float64 otherwise, as SOPS
// reads them.
func loadJSON(in []byte) ([]treeBranch, error) {
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("invalid JSON: a SOPS document must be an object")
	}
	branch, err := jsonObject(dec)
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	return []treeBranch{branch}, nil
}

// jsonObject reads the members of an object whose '{' was consumed.
func jsonObject(dec *json.Decoder) (treeBranch, error) {
	branch := treeBranch{}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if d, ok := tok.(json.Delim); ok && d == '}' {
			return branch, nil
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("expected an object key, got %v", tok)
		}
		v, err := jsonValue(dec)
		if err != nil {
			return nil, err
		}
		branch = append(branch, treeItem{key: key, value: v})
	}
}

func jsonValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			return jsonObject(dec)
		case '[':
			list := []any{}
			for dec.More() {
				v, err := jsonValue(dec)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			_, err := dec.Token() // ']'
			return list, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return int(i), nil
		}
		return t.Float64()
	default:
		return t, nil
	}
}

// emitJSON writes the single branch as an indented object, without
// comments (JSON has none).
func emitJSON(branches []treeBranch) ([]byte, error) {
	if len(branches) != 1 {
		return nil, fmt.Errorf("a JSON document holds one object, not %d", len(branches))
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, branches[0]); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func writeJSON(buf *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case treeBranch:
		buf.WriteByte('{')
		first := true
		for _, item := range v {
			key, ok := item.key.(string)
			if !ok {
				continue // comments
			}
			if !first {
				buf.WriteByte(',')
			}
			first = false
			kb, _ := json.Marshal(key)
			buf.Write(kb)
			buf.WriteByte(':')
			if err := writeJSON(buf, item.value); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		first := true
		for _, item := range v {
			if _, ok := item.(comment); ok {
				continue
			}
			if !first {
				buf.WriteByte(',')
			}
			first = false
			if err := writeJSON(buf, item); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		buf.Write(b)
	}
	return nil
}

// --- dotenv ---

// loadDotenv reads KEY=VALUE lines ("\n" in a value is a newline) and
// "#" comment lines into one branch.
func loadDotenv(in []byte) ([]treeBranch, error) {
	branch := treeBranch{}
	for i, line := range strings.Split(string(in), "\n") {
		switch {
		case line == "":
		case line[0] == '#':
			branch = append(branch, treeItem{key: comment{value: line[1:]}})
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok {
				return nil, fmt.Errorf("invalid dotenv: line %d has no '='", i+1)
			}
			branch = append(branch, treeItem{key: key, value: strings.ReplaceAll(value, `\n`, "\n")})
		}
	}
	return []treeBranch{branch}, nil
}

func emitDotenv(branches []treeBranch) ([]byte, error) {
	var buf bytes.Buffer
	for _, b := range branches {
		for _, item := range b {
			if c, ok := item.key.(comment); ok {
				fmt.Fprintf(&buf, "#%s\n", c.value)
				continue
			}
			if isComplex(item.value) {
				return nil, fmt.Errorf("dotenv: the value of %v is not a plain value", item.key)
			}
			value, ok := item.value.(string)
			if !ok {
				value = scalarString(item.value)
			}
			fmt.Fprintf(&buf, "%v=%s\n", item.key, strings.ReplaceAll(value, "\n", `\n`))
		}
	}
	return buf.Bytes(), nil
}
