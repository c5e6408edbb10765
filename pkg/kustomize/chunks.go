package kustomize

import (
	"bytes"
	"errors"
	"io"
	"path"
	"regexp"
	"slices"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomize's bookkeeping (the duplicate check of every append, the
// namespace transformer's conflict check) compares each object with every
// other: a build of n objects costs n² id computations, about 100 s of
// CPU for 5,000 objects. A folder without a kustomization file whose
// objects cannot affect one another is therefore built in chunks of
// objects that may (each chunk one ordinary kustomize run, same overlay),
// and the chunks' outputs are put back in kustomize's legacy order. The
// output is the same as one build's: every cross-object pass of such a
// build (name references, namespace conflicts, duplicate ids) only
// relates objects whose names appear in each other, and those share a
// chunk (see planChunks).
var (
	// chunkMin is the fewest documents split into chunks: below it one
	// build is quick. Tests lower it.
	chunkMin = 200
	// chunkSize is the number of documents a chunk is filled to.
	chunkSize = 50
)

// docSeparator is kustomize's (kyaml's) document separator: any line
// starting with "---" (see kio.ByteReader); the file is split the same
// way here so each document reaches kustomize exactly as in one build.
var docSeparator = regexp.MustCompile(`\n---.*\n`)

// chunkDoc is one YAML document of a resource file.
type chunkDoc struct {
	file int
	// text is the document as kyaml splits it, without its separator.
	text string
	// last: the file's last piece, which kyaml reads without the line
	// break it gives every other piece.
	last bool
	name string
	// namespaceObject: a Namespace, which spec.targetNamespace renames.
	namespaceObject bool
	// scalars are every scalar of the document (names it may refer to).
	scalars []string
}

// chunkFile is one resource file of the generated kustomization.
type chunkFile struct {
	// resource is the file as the generated kustomization lists it.
	resource string
	path     string // absolute in the build's file system
}

// chunkPlan is a split of a generated kustomization's objects.
type chunkPlan struct {
	files  []chunkFile
	docs   []chunkDoc
	chunks [][]int // document indexes, in file order
}

// planChunks returns how to build the folder root (which has no
// kustomization file) in chunks, or false when it must be one build:
// few objects, overlay fields that relate objects across files
// (patches, components), a sub-kustomization, or anything in a file
// this split cannot read exactly as kustomize does (kustomize then
// reports it). Files are listed from fsys and read through read (which
// decrypts).
func planChunks(fsys, read filesys.FileSystem, root string, o Options) (*chunkPlan, bool, error) {
	if len(o.Patches) > 0 || len(o.Components) > 0 {
		return nil, false, nil
	}
	gen, err := generate(fsys, root)
	if err != nil {
		return nil, false, err
	}
	p := &chunkPlan{}
	for _, r := range gen.Resources {
		abs := path.Join(root, r)
		if fsys.IsDir(abs) {
			return nil, false, nil
		}
		b, err := read.ReadFile(abs)
		if err != nil {
			return nil, false, err
		}
		f := chunkFile{resource: r, path: abs}
		pieces, ok := splitDocs(string(b))
		if !ok {
			return nil, false, nil
		}
		for i, text := range pieces {
			d, empty, ok := readDoc(text)
			if !ok {
				return nil, false, nil
			}
			if empty {
				continue
			}
			d.file, d.text, d.last = len(p.files), text, i == len(pieces)-1
			p.docs = append(p.docs, d)
		}
		p.files = append(p.files, f)
	}
	if len(p.docs) < chunkMin {
		return nil, false, nil
	}
	p.chunks = packChunks(p.docs, o.TargetNamespace != "")
	return p, len(p.chunks) > 1, nil
}

// splitDocs splits a file as kyaml does; false when kyaml would refuse
// a separator.
func splitDocs(s string) ([]string, bool) {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if s == "" {
		return nil, true
	}
	var out []string
	prev := 0
	for _, loc := range docSeparator.FindAllStringIndex(s, -1) {
		rest := strings.TrimSpace(s[loc[0]+4 : loc[1]])
		if rest != "" && rest[0] != '#' {
			return nil, false
		}
		out = append(out, s[prev:loc[0]])
		prev = loc[1]
	}
	return append(out, s[prev:]), true
}

// readDoc reads the first YAML document of a piece, as kyaml does. It is
// empty when kustomize skips it, and not ok when it is not one plain
// named object (a list, kustomize configuration, no name, bad YAML).
func readDoc(text string) (d chunkDoc, empty, ok bool) {
	var n yamlv3.Node
	if err := yamlv3.NewDecoder(bytes.NewBufferString(text)).Decode(&n); err != nil {
		eof := errors.Is(err, io.EOF)
		return d, eof, eof
	}
	if len(n.Content) == 0 || n.Content[0].Tag == "!!null" {
		return d, true, true
	}
	top := n.Content[0]
	if top.Kind != yamlv3.MappingNode {
		return d, false, false
	}
	av, kind := field(top, "apiVersion"), field(top, "kind")
	meta := mapField(top, "metadata")
	if av == "" || kind == "" || meta == nil || strings.HasSuffix(kind, "List") ||
		strings.HasPrefix(av, "kustomize.config.k8s.io/") || strings.HasPrefix(av, "config.kubernetes.io/") {
		return d, false, false
	}
	d.name = field(meta, "name")
	d.namespaceObject = av == "v1" && kind == "Namespace"
	if d.name == "" {
		return d, false, false
	}
	var walk func(*yamlv3.Node)
	walk = func(n *yamlv3.Node) {
		if n.Kind == yamlv3.ScalarNode {
			d.scalars = append(d.scalars, n.Value)
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(top)
	return d, false, true
}

// mapField is the mapping value of key in a mapping node, nil if none.
func mapField(m *yamlv3.Node, key string) *yamlv3.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yamlv3.MappingNode {
			return m.Content[i+1]
		}
	}
	return nil
}

// field is the scalar value of key in a mapping node, "" if none.
func field(m *yamlv3.Node, key string) string {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yamlv3.ScalarNode {
			return m.Content[i+1].Value
		}
	}
	return ""
}

// packChunks groups documents so that any two where one holds the
// other's name as a scalar (a reference, a shared name, a namespace
// named by a Namespace object) share a chunk, then fills chunks of about
// chunkSize documents with whole groups, in file order.
// With renamedNamespaces, Namespace objects (all renamed to the target
// namespace) share a chunk too.
func packChunks(docs []chunkDoc, renamedNamespaces bool) [][]int {
	parent := make([]int, len(docs))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	union := func(a, b int) {
		if ra, rb := find(a), find(b); ra != rb {
			parent[max(ra, rb)] = min(ra, rb)
		}
	}
	named := map[string]int{} // name -> first document of that name
	for i, d := range docs {
		if j, ok := named[d.name]; ok {
			union(i, j)
		} else {
			named[d.name] = i
		}
	}
	firstNamespace := -1
	for i, d := range docs {
		if renamedNamespaces && d.namespaceObject {
			if firstNamespace < 0 {
				firstNamespace = i
			}
			union(i, firstNamespace)
		}
		for _, s := range d.scalars {
			if j, ok := named[s]; ok {
				union(i, j)
			}
		}
	}
	groups := map[int][]int{}
	var roots []int
	for i := range docs {
		r := find(i)
		if _, ok := groups[r]; !ok {
			roots = append(roots, r)
		}
		groups[r] = append(groups[r], i)
	}
	var chunks [][]int
	var cur []int
	for _, r := range roots {
		cur = append(cur, groups[r]...)
		if len(cur) >= chunkSize {
			chunks = append(chunks, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	for _, c := range chunks {
		slices.Sort(c)
	}
	return chunks
}

// chunkFS is the folder holding only one chunk's documents, each file at
// its own path, so kustomize reads every document as in one build.
// Its kustomization lists the files of the chunk as the folder's lists
// them (whatever a file holds without the others' documents).
func (p *chunkPlan) chunkFS(chunk []int) (filesys.FileSystem, *types.Kustomization, error) {
	fsys := filesys.MakeFsInMemory()
	kus := &types.Kustomization{TypeMeta: types.TypeMeta{APIVersion: types.KustomizationVersion, Kind: types.KustomizationKind}}
	byFile := map[int][]int{}
	for _, i := range chunk {
		byFile[p.docs[i].file] = append(byFile[p.docs[i].file], i)
	}
	for fi, idx := range byFile {
		var b strings.Builder
		for k, i := range idx {
			if k > 0 {
				b.WriteString("\n---\n")
			}
			b.WriteString(p.docs[i].text)
		}
		if !p.docs[idx[len(idx)-1]].last {
			// An empty last piece, so kyaml ends this one with its line
			// break as in the whole file.
			b.WriteString("\n---\n")
		}
		if err := fsys.WriteFile(p.files[fi].path, []byte(b.String())); err != nil {
			return nil, nil, err
		}
	}
	for fi, f := range p.files {
		if len(byFile[fi]) > 0 {
			kus.Resources = append(kus.Resources, f.resource)
		}
	}
	return fsys, kus, nil
}
