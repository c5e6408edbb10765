package helm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"gotk.dev/pkg/runtime/redact"
)

// IndexURL is the index.yaml address of a repository URL.
func IndexURL(repoURL string) string {
	return strings.TrimSuffix(repoURL, "/") + "/index.yaml"
}

// Index is a downloaded repository index.
type Index struct {
	// Raw is the sha256 hex of the bytes as served.
	Raw string
	// Path is a temporary file holding the index normalised: Helm's index
	// as JSON with sorted entries and no generation time (JSON is YAML,
	// and far cheaper to parse again). Digest is its sha256 hex, so only a
	// content change makes a new revision; Size its length. Path is ""
	// when the index was not parsed again (Raw equals the known digest).
	Path   string
	Digest string
	Size   int64
}

// Remove deletes the temporary normalised file.
func (i *Index) Remove() {
	if i != nil && i.Path != "" {
		_ = os.Remove(i.Path)
	}
}

// FetchIndex downloads a repository index into a temporary file and
// normalises it into another, never holding the document in memory as one
// piece (see streamIndex). When its raw digest equals knownRaw the
// unchanged index is not parsed again and Path is "". The caller removes
// Path.
func FetchIndex(ctx context.Context, g *Getter, maxBytes int64, knownRaw string) (*Index, error) {
	raw, err := os.CreateTemp("", "helm-index-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(raw.Name())
	rawSum := sha256.New()
	_, err = g.Download(ctx, IndexURL(g.RepoURL), maxBytes, io.MultiWriter(raw, rawSum))
	if cerr := raw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	out := &Index{Raw: hex.EncodeToString(rawSum.Sum(nil))}
	if out.Raw == knownRaw {
		return out, nil
	}
	index, err := parseIndexFile(raw.Name())
	if err != nil {
		return nil, fmt.Errorf("%s: invalid index: %w", redact.String(IndexURL(g.RepoURL)), err)
	}
	defer index.close()
	if err := out.write(index); err != nil {
		out.Remove()
		return nil, err
	}
	return out, nil
}

func (i *Index) write(index *encodedIndex) error {
	f, err := os.CreateTemp("", "helm-index-normalised-")
	if err != nil {
		return err
	}
	i.Path = f.Name()
	sum := sha256.New()
	counter := &countingWriter{}
	err = index.writeJSON(io.MultiWriter(f, sum, counter))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	i.Digest, i.Size = hex.EncodeToString(sum.Sum(nil)), counter.n
	return err
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// LoadCompactIndexFile reads a normalised index file for chart lookup.
func LoadCompactIndexFile(path string) (*CompactIndex, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return LoadCompactIndex(f)
}

// IndexCache keeps compact indexes by digest for a TTL, so N HelmCharts
// of one repository read its index once.
type IndexCache struct {
	// TTL is how long an entry is kept after its last use.
	TTL time.Duration

	mu      sync.Mutex
	entries map[string]*cacheEntry
}

type cacheEntry struct {
	index    *CompactIndex
	lastUsed time.Time
	// resolved memoises version lookups: a constraint is checked against
	// every version of the chart, which dominates with large indexes.
	resolved map[string]*ChartVersion
}

// Resolve returns the newest version of chart matching constraint in the
// index with digest (loaded with load on a miss), memoised per index.
func (c *IndexCache) Resolve(digest, chartName, constraint string, load func() (*CompactIndex, error)) (*ChartVersion, error) {
	index, err := c.Get(digest, load)
	if err != nil {
		return nil, err
	}
	key := chartName + "\x00" + constraint
	c.mu.Lock()
	e := c.entries[digest]
	if e != nil {
		if cv, ok := e.resolved[key]; ok {
			c.mu.Unlock()
			return cv, nil
		}
	}
	c.mu.Unlock()
	cv, err := index.Get(chartName, constraint)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if e != nil {
		if e.resolved == nil {
			e.resolved = map[string]*ChartVersion{}
		}
		e.resolved[key] = cv
	}
	c.mu.Unlock()
	return cv, nil
}

// Get returns the index for digest, loading it with load on a miss.
func (c *IndexCache) Get(digest string, load func() (*CompactIndex, error)) (*CompactIndex, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for k, e := range c.entries {
		if now.Sub(e.lastUsed) > c.TTL {
			delete(c.entries, k)
		}
	}
	if e, ok := c.entries[digest]; ok {
		e.lastUsed = now
		return e.index, nil
	}
	index, err := load()
	if err != nil {
		return nil, err
	}
	if c.entries == nil {
		c.entries = map[string]*cacheEntry{}
	}
	c.entries[digest] = &cacheEntry{index: index, lastUsed: now}
	return index, nil
}

// Len is the number of cached indexes.
func (c *IndexCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
