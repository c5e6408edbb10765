package migrate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Change is one apiVersion a rewrite moved.
type Change struct {
	File     string
	Line     int
	Kind     string
	From, To string // group/version
}

func (c Change) String() string {
	return fmt.Sprintf("%s:%d: %s %s -> %s", c.File, c.Line, c.Kind, c.From, c.To)
}

// DefaultExtensions are the file name endings Path reads.
var DefaultExtensions = []string{".yaml", ".yml"}

// edit replaces From with To on one line, after the apiVersion key's column.
type edit struct {
	line, col int // 1-based, of the apiVersion key
	change    Change
}

// Bytes rewrites the apiVersion of every Flux object in the YAML stream
// data (top level or nested, such as a List's items) whose version is
// older than its target. Everything else, comments included, is kept.
func Bytes(data []byte, t Targets) ([]byte, []Change, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var edits []edit
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("parsing YAML: %w", err)
		}
		edits = collect(&doc, t, edits)
	}
	if len(edits) == 0 {
		return data, nil, nil
	}
	lines := strings.Split(string(data), "\n")
	var changes []Change
	for _, e := range edits {
		if e.line < 1 || e.line > len(lines) {
			continue
		}
		runes := []rune(lines[e.line-1])
		start := min(max(e.col-1, 0), len(runes))
		rest := string(runes[start:])
		i := strings.Index(rest, e.change.From)
		if i < 0 {
			return nil, nil, fmt.Errorf("line %d: apiVersion %s not found where the parser saw it", e.line, e.change.From)
		}
		lines[e.line-1] = string(runes[:start]) + rest[:i] + e.change.To + rest[i+len(e.change.From):]
		e.change.Line = e.line
		changes = append(changes, e.change)
	}
	return []byte(strings.Join(lines, "\n")), changes, nil
}

// collect walks n and records an edit for every mapping with an old Flux
// apiVersion and a kind.
func collect(n *yaml.Node, t Targets, edits []edit) []edit {
	if n.Kind == yaml.MappingNode {
		var av, kind *yaml.Node
		var avKey *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			switch n.Content[i].Value {
			case "apiVersion":
				avKey, av = n.Content[i], n.Content[i+1]
			case "kind":
				kind = n.Content[i+1]
			}
		}
		if av != nil && kind != nil && av.Kind == yaml.ScalarNode && kind.Kind == yaml.ScalarNode {
			if group, version, ok := strings.Cut(av.Value, "/"); ok {
				if to, move := t.Target(group, kind.Value, version); move {
					edits = append(edits, edit{line: av.Line, col: avKey.Column, change: Change{
						Kind: kind.Value, From: av.Value, To: group + "/" + to,
					}})
				}
			}
		}
	}
	for _, c := range n.Content {
		edits = collect(c, t, edits)
	}
	return edits
}

// Path rewrites the file at root, or every file under the directory root
// whose name ends in one of exts (hidden directories such as .git are
// skipped). With dryRun nothing is written. Changes are in file order;
// an existing file keeps its permissions.
func Path(root string, exts []string, t Targets, dryRun bool) ([]Change, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	var files []string
	if !info.IsDir() {
		files = []string{root}
	} else {
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != root && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() && slices.ContainsFunc(exts, func(e string) bool { return strings.HasSuffix(d.Name(), e) }) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	// Every file is parsed before any is written, so a bad file leaves
	// the tree as it was.
	var all []Change
	outs := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out, changes, err := Bytes(data, t)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for i := range changes {
			changes[i].File = f
		}
		all = append(all, changes...)
		if len(changes) > 0 {
			outs[f] = out
		}
	}
	if dryRun {
		return all, nil
	}
	for _, f := range files {
		if out, ok := outs[f]; ok {
			if err := os.WriteFile(f, out, 0o644); err != nil {
				return all, err
			}
		}
	}
	return all, nil
}
