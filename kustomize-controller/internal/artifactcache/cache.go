// Package artifactcache downloads each artifact once per digest and keeps
// its files in memory for every Kustomization that builds from it.
package artifactcache

import (
	"container/list"
	"context"
	"os"
	"sync"

	"gotk.dev/pkg/artifact"
	"gotk.dev/pkg/kustomize"
)

// DefaultMaxBytes bounds the cached files when Cache.MaxBytes is zero.
const DefaultMaxBytes = int64(256 << 20)

// Cache maps artifact digests to their extracted files, least recently
// used first out. Concurrent requests for one digest share one download.
type Cache struct {
	// Fetcher downloads, verifies and extracts artifacts.
	Fetcher *artifact.Fetcher
	// MaxBytes bounds the total size of cached files.
	MaxBytes int64

	mu       sync.Mutex
	entries  map[string]*list.Element
	lru      list.List
	size     int64
	inflight map[string]*call
	fetches  int
}

type entry struct {
	digest string
	files  *kustomize.Files
}

type call struct {
	done  chan struct{}
	files *kustomize.Files
	err   error
}

// Get returns the files of the artifact at url with the given digest,
// downloading and verifying it unless a previous Get already did.
func (c *Cache) Get(ctx context.Context, url, digest string) (*kustomize.Files, error) {
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]*list.Element{}
		c.inflight = map[string]*call{}
	}
	if el, ok := c.entries[digest]; ok {
		c.lru.MoveToFront(el)
		c.mu.Unlock()
		return el.Value.(*entry).files, nil
	}
	if cl, ok := c.inflight[digest]; ok {
		c.mu.Unlock()
		select {
		case <-cl.done:
			return cl.files, cl.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	cl := &call{done: make(chan struct{})}
	c.inflight[digest] = cl
	c.fetches++
	c.mu.Unlock()

	cl.files, cl.err = c.fetch(ctx, url, digest)

	c.mu.Lock()
	delete(c.inflight, digest)
	if cl.err == nil {
		c.add(digest, cl.files)
	}
	c.mu.Unlock()
	close(cl.done)
	return cl.files, cl.err
}

// Fetches counts the downloads started so far.
func (c *Cache) Fetches() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fetches
}

func (c *Cache) fetch(ctx context.Context, url, digest string) (*kustomize.Files, error) {
	dir, err := os.MkdirTemp("", "gotk-ks-artifact-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := c.Fetcher.Fetch(ctx, url, digest, dir); err != nil {
		return nil, err
	}
	return kustomize.LoadDir(dir, c.maxBytes())
}

func (c *Cache) maxBytes() int64 {
	if c.MaxBytes > 0 {
		return c.MaxBytes
	}
	return DefaultMaxBytes
}

// add stores files and evicts the least recently used entries beyond the
// bound; an artifact larger than the bound is returned but not kept.
func (c *Cache) add(digest string, files *kustomize.Files) {
	if files.Size() > c.maxBytes() {
		return
	}
	c.entries[digest] = c.lru.PushFront(&entry{digest: digest, files: files})
	c.size += files.Size()
	for c.size > c.maxBytes() {
		el := c.lru.Back()
		e := el.Value.(*entry)
		c.lru.Remove(el)
		delete(c.entries, e.digest)
		c.size -= e.files.Size()
	}
}
