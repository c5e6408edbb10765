// Package chart loads Helm charts from source artifacts: download once per
// artifact digest, verify, load from memory, and hand out private copies.
package chart

import (
	"bytes"
	"container/list"
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/singleflight"
	helmcommon "helm.sh/helm/v4/pkg/chart/common"
	helmchart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"

	"gotk.dev/pkg/artifact"
)

// DefaultCacheSize is how many loaded charts a Loader keeps.
const DefaultCacheSize = 64

// Fetcher downloads and verifies an artifact into memory.
type Fetcher interface {
	FetchBytes(ctx context.Context, url, digest string) ([]byte, error)
}

var _ Fetcher = (*artifact.Fetcher)(nil)

// LoadError is a chart artifact that was fetched and verified but is not a
// loadable chart (retrying the same artifact cannot help).
type LoadError struct{ Err error }

// Error implements error.
func (e *LoadError) Error() string { return "invalid chart artifact: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *LoadError) Unwrap() error { return e.Err }

// Loader loads charts by artifact digest. Many releases of one chart share
// one download and one parse; each caller gets its own copy because Helm
// changes a chart while processing its dependencies.
type Loader struct {
	fetcher Fetcher
	size    int

	group singleflight.Group
	mu    sync.Mutex
	lru   *list.List
	items map[string]*list.Element

	// Downloads counts artifact downloads, for tests and benchmarks.
	downloads int
}

type entry struct {
	digest string
	chart  *helmchart.Chart
}

// NewLoader returns a Loader keeping up to size charts (0: DefaultCacheSize).
func NewLoader(f Fetcher, size int) *Loader {
	if size <= 0 {
		size = DefaultCacheSize
	}
	return &Loader{fetcher: f, size: size, lru: list.New(), items: map[string]*list.Element{}}
}

// Load returns a private copy of the chart of the artifact at url with the
// given digest, downloading and verifying it only when no chart with that
// digest is cached.
func (l *Loader) Load(ctx context.Context, url, digest string) (*helmchart.Chart, error) {
	if c := l.get(digest); c != nil {
		return Clone(c), nil
	}
	v, err, _ := l.group.Do(digest, func() (any, error) {
		if c := l.get(digest); c != nil {
			return c, nil
		}
		data, err := l.fetcher.FetchBytes(ctx, url, digest)
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		l.downloads++
		l.mu.Unlock()
		c, err := loader.LoadArchive(bytes.NewReader(data))
		if err != nil {
			return nil, &LoadError{Err: err}
		}
		if err := c.Validate(); err != nil {
			return nil, &LoadError{Err: fmt.Errorf("chart metadata: %w", err)}
		}
		l.put(digest, c)
		return c, nil
	})
	if err != nil {
		return nil, err
	}
	return Clone(v.(*helmchart.Chart)), nil
}

// Downloads returns how many artifacts the Loader has downloaded.
func (l *Loader) Downloads() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.downloads
}

func (l *Loader) get(digest string) *helmchart.Chart {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.items[digest]; ok {
		l.lru.MoveToFront(el)
		return el.Value.(*entry).chart
	}
	return nil
}

func (l *Loader) put(digest string, c *helmchart.Chart) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.items[digest]; ok {
		l.lru.MoveToFront(el)
		return
	}
	l.items[digest] = l.lru.PushFront(&entry{digest: digest, chart: c})
	for l.lru.Len() > l.size {
		old := l.lru.Back()
		l.lru.Remove(old)
		delete(l.items, old.Value.(*entry).digest)
	}
}

// Clone copies what Helm may change while installing (metadata and its
// dependency list, values, the dependency tree); file contents are shared
// since Helm only reads them.
func Clone(c *helmchart.Chart) *helmchart.Chart {
	if c == nil {
		return nil
	}
	n := *c
	if c.Metadata != nil {
		md := *c.Metadata
		md.Dependencies = make([]*helmchart.Dependency, len(c.Metadata.Dependencies))
		for i, d := range c.Metadata.Dependencies {
			if d != nil {
				dc := *d
				dc.Tags = append([]string(nil), d.Tags...)
				dc.ImportValues = append([]interface{}(nil), d.ImportValues...)
				md.Dependencies[i] = &dc
			}
		}
		n.Metadata = &md
	}
	n.Templates = append([]*helmcommon.File(nil), c.Templates...)
	n.Files = append([]*helmcommon.File(nil), c.Files...)
	n.Raw = append([]*helmcommon.File(nil), c.Raw...)
	n.Values = copyMap(c.Values)
	deps := c.Dependencies()
	clones := make([]*helmchart.Chart, len(deps))
	for i, d := range deps {
		clones[i] = Clone(d)
	}
	n.SetDependencies(clones...)
	return &n
}

func copyMap(m map[string]interface{}) map[string]interface{} {
	if m == nil {
		return nil
	}
	out := make(map[string]interface{}, len(m))
	for k, v := range m {
		out[k] = copyValue(v)
	}
	return out
}

func copyValue(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		return copyMap(t)
	case []interface{}:
		out := make([]interface{}, len(t))
		for i, e := range t {
			out[i] = copyValue(e)
		}
		return out
	default:
		return v
	}
}
