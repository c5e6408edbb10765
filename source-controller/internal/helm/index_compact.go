package helm

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/Masterminds/semver/v3"
)

// ChartVersion is what chart lookup needs of one version in an index.
type ChartVersion struct {
	Name    string    `json:"name"`
	Version string    `json:"version"`
	URLs    []string  `json:"urls"`
	Digest  string    `json:"digest"`
	Created time.Time `json:"created"`
}

// CompactIndex is a repository index reduced to chart lookup: per chart,
// its versions in the stored order (newest first).
type CompactIndex struct {
	entries map[string][]ChartVersion
}

// Errors of CompactIndex.Get, worded as Helm's.
var (
	ErrNoChartName    = errors.New("no chart name found")
	ErrNoChartVersion = errors.New("no chart version found")
)

// LoadCompactIndex reads a normalised index (JSON, as FetchIndex writes
// it) one version at a time, keeping only what lookup needs.
func LoadCompactIndex(r io.Reader) (*CompactIndex, error) {
	dec := json.NewDecoder(r)
	idx := &CompactIndex{entries: map[string][]ChartVersion{}}
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("invalid stored index: %w", err)
		}
		if key != "entries" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, fmt.Errorf("invalid stored index: %w", err)
			}
			continue
		}
		if err := idx.readEntries(dec); err != nil {
			return nil, err
		}
	}
	return idx, nil
}

func (idx *CompactIndex) readEntries(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("invalid stored index: %w", err)
	}
	if tok == nil {
		return nil
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("invalid stored index: entries is not an object")
	}
	for dec.More() {
		name, err := dec.Token()
		if err != nil {
			return fmt.Errorf("invalid stored index: %w", err)
		}
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("invalid stored index: %w", err)
		}
		if tok == nil {
			idx.entries[name.(string)] = nil
			continue
		}
		if tok != json.Delim('[') {
			return fmt.Errorf("invalid stored index: versions of %q are not a list", name)
		}
		var versions []ChartVersion
		for dec.More() {
			var cv ChartVersion
			if err := dec.Decode(&cv); err != nil {
				return fmt.Errorf("invalid stored index: %w", err)
			}
			versions = append(versions, cv)
		}
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("invalid stored index: %w", err)
		}
		idx.entries[name.(string)] = versions
	}
	_, err = dec.Token()
	return err
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("invalid stored index: %w", err)
	}
	if tok != d {
		return fmt.Errorf("invalid stored index: want %q, got %v", d, tok)
	}
	return nil
}

// Get returns the version of chart name that Helm's IndexFile.Get would:
// an exact version string first, else the newest matching constraint
// ("" means any).
func (idx *CompactIndex) Get(name, constraint string) (*ChartVersion, error) {
	vs, ok := idx.entries[name]
	if !ok {
		return nil, ErrNoChartName
	}
	if len(vs) == 0 {
		return nil, ErrNoChartVersion
	}
	expr := constraint
	if expr == "" {
		expr = "*"
	}
	c, err := semver.NewConstraint(expr)
	if err != nil {
		return nil, err
	}
	if constraint != "" {
		for i := range vs {
			if vs[i].Version == constraint {
				return &vs[i], nil
			}
		}
	}
	for i := range vs {
		v, err := semver.NewVersion(vs[i].Version)
		if err == nil && c.Check(v) {
			return &vs[i], nil
		}
	}
	return nil, fmt.Errorf("no chart version found for %s-%s", name, constraint)
}

// Len is the number of versions of all charts.
func (idx *CompactIndex) Len() int {
	n := 0
	for _, vs := range idx.entries {
		n += len(vs)
	}
	return n
}
