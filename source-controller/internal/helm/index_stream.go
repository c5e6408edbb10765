package helm

import (
	"bufio"
	"bytes"
	"io"

	repo "helm.sh/helm/v4/pkg/repo/v1"
	"sigs.k8s.io/yaml"
)

// streamIndex reads an index in the block layout that `helm repo index`
// and other generators write, one chart version at a time:
//
//	apiVersion: v1
//	entries:
//	  <chart>:
//	  - <version fields, indented further>
//	generated: ...
//
// so a 20 MiB index never becomes one 20 MiB generic YAML tree. Each
// version is decoded strictly on its own, as Helm decodes it within the
// document. Anything else (flow style, anchors across versions, document
// markers, tabs, duplicate keys) returns errNotBlockLayout for the
// whole-document parse, which is then the one source of truth.
func streamIndex(r *bufio.Reader) (*encodedIndex, error) {
	idx, err := newEncodedIndex()
	if err != nil {
		return nil, err
	}
	s := &indexStream{idx: idx, keyIndent: -1}
	if err := s.read(r); err != nil {
		idx.close()
		return nil, err
	}
	return idx, nil
}

func (s *indexStream) read(r *bufio.Reader) error {
	empty := true
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			empty = false
			if perr := s.line(line); perr != nil {
				return perr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if empty || !s.sawEntries || len(s.idx.entries) == 0 {
		return errNotBlockLayout
	}
	if err := s.flushItem(); err != nil {
		return err
	}
	if err := yaml.UnmarshalStrict(s.header.Bytes(), &s.idx.header); err != nil || s.idx.header.Entries != nil {
		return errNotBlockLayout
	}
	return nil
}

// indexStream is the state of streamIndex between lines.
type indexStream struct {
	idx        *encodedIndex
	header     bytes.Buffer // every top-level key but entries
	inEntries  bool
	sawEntries bool
	keyIndent  int // indentation of chart names under entries
	itemIndent int // indentation of "- " of the current chart's versions
	chart      *encodedVersions
	item       []byte // the version being read, from its "- " line
}

func (s *indexStream) line(line []byte) error {
	indent := 0
	for indent < len(line) && line[indent] == ' ' {
		indent++
	}
	content := bytes.TrimRight(line[indent:], "\r\n")
	if len(bytes.TrimSpace(content)) == 0 || content[0] == '#' {
		// Blank lines and comments belong to whatever is being read (they
		// may be content of a block scalar).
		s.appendCurrent(line)
		return nil
	}
	if content[0] == '\t' {
		return errNotBlockLayout
	}
	if indent == 0 {
		if err := s.flushItem(); err != nil {
			return err
		}
		s.chart = nil
		if isEntriesKey(content) {
			if s.sawEntries {
				return errNotBlockLayout
			}
			s.inEntries, s.sawEntries = true, true
			return nil
		}
		if bytes.IndexByte([]byte("-.%{}[]&*!?|>@`"), content[0]) >= 0 {
			return errNotBlockLayout
		}
		s.inEntries = false
		s.header.Write(line)
		return nil
	}
	if !s.inEntries {
		s.header.Write(line)
		return nil
	}
	if s.keyIndent < 0 {
		s.keyIndent = indent
	}
	isItem := content[0] == '-' && (len(content) == 1 || content[1] == ' ')
	switch {
	case indent < s.keyIndent:
		return errNotBlockLayout
	case indent == s.keyIndent && !isItem:
		return s.chartKey(line)
	case s.chart == nil:
		return errNotBlockLayout
	case s.itemIndent < 0 && isItem:
		s.itemIndent = indent
		return s.startItem(line)
	case indent == s.itemIndent && isItem:
		return s.startItem(line)
	case indent > s.itemIndent && s.itemIndent >= 0 && s.item != nil:
		s.item = append(s.item, line...)
		return nil
	default:
		return errNotBlockLayout
	}
}

// isEntriesKey reports a top-level "entries:" with its value on the
// following lines.
func isEntriesKey(content []byte) bool {
	rest, ok := bytes.CutPrefix(content, []byte("entries:"))
	if !ok {
		return false
	}
	rest = bytes.TrimSpace(rest)
	return len(rest) == 0 || rest[0] == '#'
}

// appendCurrent adds a blank or comment line to the version or header
// being read.
func (s *indexStream) appendCurrent(line []byte) {
	switch {
	case s.item != nil:
		s.item = append(s.item, line...)
	case !s.inEntries:
		s.header.Write(line)
	}
}

// chartKey starts the versions of the chart named on line, which must be
// a key alone ("  podinfo:").
func (s *indexStream) chartKey(line []byte) error {
	if err := s.flushItem(); err != nil {
		return err
	}
	var key map[string]any
	if err := yaml.Unmarshal(line, &key); err != nil || len(key) != 1 {
		return errNotBlockLayout
	}
	for name, value := range key {
		if value != nil {
			return errNotBlockLayout
		}
		if _, dup := s.idx.entries[name]; dup {
			return errNotBlockLayout
		}
		s.chart = &encodedVersions{null: true}
		s.idx.entries[name] = s.chart
	}
	s.itemIndent = -1
	return nil
}

func (s *indexStream) startItem(line []byte) error {
	if err := s.flushItem(); err != nil {
		return err
	}
	s.chart.null = false
	s.item = append(make([]byte, 0, 1024), line...)
	return nil
}

// flushItem decodes the version being read, as a one-item sequence.
func (s *indexStream) flushItem() error {
	if s.item == nil {
		return nil
	}
	var items []*repo.ChartVersion
	err := yaml.UnmarshalStrict(s.item, &items)
	s.item = nil
	if err != nil || len(items) != 1 {
		return errNotBlockLayout
	}
	return s.idx.add(s.chart, items[0])
}
