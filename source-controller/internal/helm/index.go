package helm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/repo"
)

// IndexURL is the index.yaml address of a repository URL.
func IndexURL(repoURL string) string {
	return strings.TrimSuffix(repoURL, "/") + "/index.yaml"
}

// Index is a downloaded repository index.
type Index struct {
	// Raw is the sha256 hex of the bytes as served.
	Raw string
	// Normalised is the index re-encoded as JSON with sorted entries and
	// no generation time (JSON is YAML, and far cheaper to parse again);
	// Digest is its sha256 hex, so only a content change makes a new revision.
	Normalised []byte
	Digest     string
}

// FetchIndex downloads a repository index. When its raw digest equals
// knownRaw the unchanged index is not parsed again and Normalised is nil.
func FetchIndex(ctx context.Context, g *Getter, maxBytes int64, knownRaw string) (*Index, error) {
	data, err := g.Get(ctx, IndexURL(g.RepoURL), maxBytes)
	if err != nil {
		return nil, err
	}
	rawSum := sha256.Sum256(data)
	out := &Index{Raw: hex.EncodeToString(rawSum[:])}
	if out.Raw == knownRaw {
		return out, nil
	}
	index, err := ParseIndex(data)
	data = nil // let the collector have the download before normalising
	if err != nil {
		return nil, fmt.Errorf("%s: %w", redact(IndexURL(g.RepoURL)), err)
	}
	index.Generated = time.Time{} // the generation time is not content
	index.SortEntries()
	if out.Normalised, err = json.Marshal(index); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(out.Normalised)
	out.Digest = hex.EncodeToString(sum[:])
	return out, nil
}

// ParseStoredIndex reads a normalised index written by FetchIndex.
func ParseStoredIndex(data []byte) (*repo.IndexFile, error) {
	index := &repo.IndexFile{}
	if err := json.Unmarshal(data, index); err != nil {
		return nil, fmt.Errorf("invalid stored index: %w", err)
	}
	return index, nil
}

// ParseIndex parses and validates index bytes with Helm's own loader.
func ParseIndex(data []byte) (*repo.IndexFile, error) {
	f, err := os.CreateTemp("", "helm-index-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	index, err := repo.LoadIndexFile(f.Name())
	if err != nil {
		return nil, fmt.Errorf("invalid index: %w", err)
	}
	return index, nil
}

// IndexCache keeps parsed indexes by digest for a TTL, so N HelmCharts of
// one repository parse its index once.
type IndexCache struct {
	// TTL is how long an entry is kept after its last use.
	TTL time.Duration

	mu      sync.Mutex
	entries map[string]*cacheEntry
}

type cacheEntry struct {
	index    *repo.IndexFile
	lastUsed time.Time
	// resolved memoises version lookups: a constraint is checked against
	// every version of the chart, which dominates with large indexes.
	resolved map[string]*repo.ChartVersion
}

// Resolve returns the newest version of chart matching constraint in the
// index with digest (loaded with load on a miss), memoised per index.
func (c *IndexCache) Resolve(digest, chartName, constraint string, load func() (*repo.IndexFile, error)) (*repo.ChartVersion, error) {
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
			e.resolved = map[string]*repo.ChartVersion{}
		}
		e.resolved[key] = cv
	}
	c.mu.Unlock()
	return cv, nil
}

// Get returns the index for digest, loading it with load on a miss.
func (c *IndexCache) Get(digest string, load func() (*repo.IndexFile, error)) (*repo.IndexFile, error) {
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
