package helm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	repo "helm.sh/helm/v4/pkg/repo/v1"
	"sigs.k8s.io/yaml"
)

// encodedIndex is a parsed repository index with every chart version kept
// only as its JSON encoding, in a temporary file: what stays in memory is
// a version and an offset per chart version, not Helm's typed index nor
// the generic YAML tree it is decoded through.
type encodedIndex struct {
	// header is the index without its entries.
	header repo.IndexFile
	// entries are the versions of each chart, newest first after sort.
	entries map[string]*encodedVersions

	spill     *os.File // the encoded versions, one after the other
	spillW    *bufio.Writer
	spillSize int64
}

func newEncodedIndex() (*encodedIndex, error) {
	f, err := os.CreateTemp("", "helm-index-entries-")
	if err != nil {
		return nil, err
	}
	return &encodedIndex{entries: map[string]*encodedVersions{}, spill: f, spillW: bufio.NewWriterSize(f, 64<<10)}, nil
}

// close removes the temporary file.
func (idx *encodedIndex) close() {
	if idx != nil && idx.spill != nil {
		idx.spill.Close()
		os.Remove(idx.spill.Name())
		idx.spill = nil
	}
}

type encodedVersions struct {
	// null: the chart key had no value at all (Helm keeps it as null).
	null  bool
	items []encodedVersion
}

type encodedVersion struct {
	semver *semver.Version // nil when the version is not semver
	offset int64           // of its JSON in the spill file
	length int
}

// errNotBlockLayout sends a file the streaming reader does not understand
// to Helm's whole-document parse.
var errNotBlockLayout = errors.New("not in the block layout")

// parseIndexFile parses the index at path as Helm's loader does (same
// entries kept, same order, same encoding), entry by entry when the file
// has the block layout index generators write, otherwise in one piece.
func parseIndexFile(path string) (*encodedIndex, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	idx, err := streamIndex(bufio.NewReaderSize(f, 64<<10))
	f.Close()
	if err == nil {
		if err = idx.finish(); err != nil {
			idx.close()
			return nil, err
		}
		return idx, nil
	}
	if !errors.Is(err, errNotBlockLayout) {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	idx, err = parseWholeIndex(data)
	if err != nil {
		idx.close()
		return nil, err
	}
	return idx, nil
}

// parseWholeIndex is Helm's loader on the whole document.
func parseWholeIndex(data []byte) (*encodedIndex, error) {
	if len(data) == 0 {
		return nil, repo.ErrEmptyIndexYaml
	}
	full := &repo.IndexFile{}
	var err error
	if json.Valid(data) {
		err = json.Unmarshal(data, full)
	} else {
		err = yaml.UnmarshalStrict(data, full)
	}
	if err != nil {
		return nil, err
	}
	idx, err := newEncodedIndex()
	if err != nil {
		return nil, err
	}
	idx.header = *full
	idx.header.Entries = nil
	for name, cvs := range full.Entries {
		ev := &encodedVersions{null: cvs == nil}
		for _, cv := range cvs {
			if err := idx.add(ev, cv); err != nil {
				return idx, err
			}
		}
		idx.entries[name] = ev
	}
	if full.Entries == nil {
		idx.entries = nil
	}
	return idx, idx.finish()
}

// add keeps cv in ev as Helm's loader does: empty and invalid entries
// skipped, missing metadata and apiVersion defaulted.
func (idx *encodedIndex) add(ev *encodedVersions, cv *repo.ChartVersion) error {
	if cv == nil {
		return nil
	}
	if cv.Metadata == nil {
		cv.Metadata = &chart.Metadata{}
	}
	if cv.APIVersion == "" {
		cv.APIVersion = chart.APIVersionV1
	}
	if err := cv.Validate(); err != nil && !skippableValidationError(err) {
		return nil
	}
	data, err := json.Marshal(cv)
	if err != nil {
		return err
	}
	if _, err := idx.spillW.Write(data); err != nil {
		return err
	}
	v, _ := semver.NewVersion(cv.Version)
	ev.items = append(ev.items, encodedVersion{semver: v, offset: idx.spillSize, length: len(data)})
	idx.spillSize += int64(len(data))
	return nil
}

// skippableValidationError mirrors the chart validation errors Helm's index
// loader tolerates (a duplicate dependency alias some repositories write).
func skippableValidationError(err error) bool {
	var verr chart.ValidationError
	return errors.As(err, &verr) && strings.HasPrefix(verr.Error(), "validation: more than one dependency with name or alias")
}

// finish sorts versions newest first (Helm's unstable sort and order, so
// the encoding is Helm's) and checks the apiVersion.
func (idx *encodedIndex) finish() error {
	if err := idx.spillW.Flush(); err != nil {
		return err
	}
	for _, ev := range idx.entries {
		sort.Sort(sort.Reverse(byVersion(ev.items)))
	}
	if idx.header.APIVersion == "" {
		return repo.ErrNoAPIVersion
	}
	return nil
}

// byVersion orders as Helm's ChartVersions: unparsable versions first.
type byVersion []encodedVersion

func (b byVersion) Len() int      { return len(b) }
func (b byVersion) Swap(i, j int) { b[i], b[j] = b[j], b[i] }
func (b byVersion) Less(i, j int) bool {
	if b[i].semver == nil {
		return true
	}
	if b[j].semver == nil {
		return false
	}
	return b[i].semver.LessThan(b[j].semver)
}

// writeJSON writes the index as json.Marshal of Helm's IndexFile with no
// generation time, without building that document in memory.
func (idx *encodedIndex) writeJSON(w io.Writer) error {
	header := idx.header
	header.Generated = time.Time{}
	header.Entries = map[string]repo.ChartVersions{}
	if idx.entries == nil {
		header.Entries = nil
		data, err := json.Marshal(&header)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	data, err := json.Marshal(&header)
	if err != nil {
		return err
	}
	// The last `"entries":{}` is the field: serverInfo comes before it, and
	// only strings follow it.
	at := bytes.LastIndex(data, []byte(`"entries":{}`))
	if at < 0 {
		return fmt.Errorf("encoding the index: no entries field")
	}
	bw := bufio.NewWriter(w)
	bw.Write(data[:at+len(`"entries":{`)])
	names := make([]string, 0, len(idx.entries))
	for name := range idx.entries {
		names = append(names, name)
	}
	sort.Strings(names)
	for i, name := range names {
		if i > 0 {
			bw.WriteByte(',')
		}
		key, err := json.Marshal(name)
		if err != nil {
			return err
		}
		bw.Write(key)
		bw.WriteByte(':')
		ev := idx.entries[name]
		if ev.null && len(ev.items) == 0 {
			bw.WriteString("null")
			continue
		}
		bw.WriteByte('[')
		for j, item := range ev.items {
			if j > 0 {
				bw.WriteByte(',')
			}
			if _, err := io.Copy(bw, io.NewSectionReader(idx.spill, item.offset, int64(item.length))); err != nil {
				return err
			}
		}
		bw.WriteByte(']')
	}
	bw.Write(data[at+len(`"entries":{`):])
	return bw.Flush()
}
