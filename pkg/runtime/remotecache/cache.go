// Package remotecache keeps what a controller builds for a remote cluster
// named in spec.kubeConfig (its clients, discovery, watches), so an
// unchanged reconcile reuses them instead of building them again. An
// entry is valid while the referenced object (the kubeconfig Secret or
// ConfigMap) keeps its version and, for identities that expire, until
// its time to live has passed.
package remotecache

import (
	"container/list"
	"sync"
	"time"
)

// DefaultMaxEntries bounds the entries kept when MaxEntries is 0.
const DefaultMaxEntries = 64

// Cache holds one value per key, least recently used out first.
type Cache[V any] struct {
	// MaxEntries bounds the entries kept (0: DefaultMaxEntries). Set it
	// before the first Get.
	MaxEntries int
	// Release, when set, is called with every value the cache lets go
	// (replaced, evicted, forgotten, closed, or built twice at once), e.g.
	// to stop a watch. Set it before the first Get.
	Release func(V)
	// Now is the clock expiry is measured on (nil: time.Now).
	Now func() time.Time

	mu      sync.Mutex
	entries map[string]*list.Element
	lru     list.List
	builds  int
}

// entry is one value and what it was built from.
type entry[V any] struct {
	key, version string
	expires      time.Time // zero: never
	value        V
}

// Get returns the value cached under key if it was built from the same
// version of the referenced object and has not expired; otherwise it
// calls build, outside the lock (a build may read the API server, and
// other keys' hits must not wait for it), and keeps the result, replacing
// the old one. ttl 0 never expires. A failed build is returned and not
// kept.
func (c *Cache[V]) Get(key, version string, ttl time.Duration, build func() (V, error)) (V, error) {
	c.mu.Lock()
	if e := c.current(key, version); e != nil {
		c.lru.MoveToFront(c.entries[key])
		c.mu.Unlock()
		return e.value, nil
	}
	c.mu.Unlock()

	v, err := build()
	if err != nil {
		var zero V
		return zero, err
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	c.builds++
	if e := c.current(key, version); e != nil {
		// Another reconcile built it meanwhile: share one.
		c.release(v)
		return e.value, nil
	}
	if c.entries == nil {
		c.entries = map[string]*list.Element{}
	}
	if el, ok := c.entries[key]; ok {
		c.remove(el)
	}
	e := &entry[V]{key: key, version: version, value: v}
	if ttl > 0 {
		e.expires = c.now().Add(ttl)
	}
	c.entries[key] = c.lru.PushFront(e)
	limit := c.MaxEntries
	if limit <= 0 {
		limit = DefaultMaxEntries
	}
	for c.lru.Len() > limit {
		c.remove(c.lru.Back())
	}
	return v, nil
}

// Builds reports how many values were built so far: one per new key,
// version or expiry, not one per Get.
func (c *Cache[V]) Builds() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.builds
}

// Len reports how many entries are kept.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Forget drops every entry whose key match accepts, e.g. once the object
// that named the cluster is deleted.
func (c *Cache[V]) Forget(match func(key string) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, el := range c.entries {
		if match(key) {
			c.remove(el)
		}
	}
}

// Close drops every entry, e.g. before the clusters' API servers go away.
func (c *Cache[V]) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.lru.Len() > 0 {
		c.remove(c.lru.Back())
	}
}

// current returns the unexpired entry of key at version, nil otherwise.
// c.mu is held.
func (c *Cache[V]) current(key, version string) *entry[V] {
	el, ok := c.entries[key]
	if !ok {
		return nil
	}
	e := el.Value.(*entry[V])
	if e.version != version || (!e.expires.IsZero() && !c.now().Before(e.expires)) {
		return nil
	}
	return e
}

// remove drops el and releases its value. c.mu is held.
func (c *Cache[V]) remove(el *list.Element) {
	e := el.Value.(*entry[V])
	delete(c.entries, e.key)
	c.lru.Remove(el)
	c.release(e.value)
}

func (c *Cache[V]) release(v V) {
	if c.Release != nil {
		c.Release(v)
	}
}

func (c *Cache[V]) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
