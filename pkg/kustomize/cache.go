package kustomize

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// DefaultBuildCacheBytes bounds the cached build output (its JSON size)
// when BuildCache.MaxBytes is zero.
const DefaultBuildCacheBytes = int64(64 << 20)

// BuildCache keeps the output of recent builds, keyed by the artifact
// digest and every option the output depends on, so a reconcile that
// changed nothing (a requested reconcile, a retry) skips kustomize. The
// least recently used outputs go first once MaxBytes is reached.
//
// Builds whose output may change while their inputs do not are never
// cached: ones that decrypted a file (keys live outside the artifact, and
// decrypted content is not kept) and ones that may read remote bases.
// Failed builds are not cached either.
type BuildCache struct {
	// MaxBytes bounds the JSON size of the cached objects (0:
	// DefaultBuildCacheBytes). They are kept as JSON (decoded objects
	// take about nine times more memory) and decoded on every hit.
	MaxBytes int64

	mu      sync.Mutex
	entries map[string]*list.Element
	lru     list.List
	size    int64
	hits    int
}

type buildEntry struct {
	key   string
	json  [][]byte
	bytes int64
}

// Build returns Build(files, o), from the cache when a build of the
// artifact with this digest and the same options ran before. The
// objects are the caller's own: they may be changed freely. An empty
// digest or a nil cache always builds.
func (c *BuildCache) Build(files *Files, digest string, o Options) ([]*unstructured.Unstructured, error) {
	key, ok := buildKey(digest, o)
	if c == nil || !ok {
		return Build(files, o)
	}
	c.mu.Lock()
	if el, found := c.entries[key]; found {
		c.lru.MoveToFront(el)
		c.hits++
		raw := el.Value.(*buildEntry).json
		c.mu.Unlock()
		return decode(raw)
	}
	c.mu.Unlock()
	// Concurrent misses of one key build twice: rare, and correct.
	out, err := build(files, o)
	if err != nil || out.remote || out.decrypted {
		return out.objects, err
	}
	var size int64
	for _, b := range out.json {
		size += int64(len(b))
	}
	c.add(&buildEntry{key: key, json: out.json, bytes: size})
	return out.objects, nil
}

// Hits is how many builds the cache answered.
func (c *BuildCache) Hits() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits
}

// Len is the number of cached outputs.
func (c *BuildCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

func (c *BuildCache) add(e *buildEntry) {
	maxBytes := c.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultBuildCacheBytes
	}
	if e.bytes > maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]*list.Element{}
	}
	if el, ok := c.entries[e.key]; ok {
		c.size -= el.Value.(*buildEntry).bytes
		c.lru.Remove(el)
	}
	c.entries[e.key] = c.lru.PushFront(e)
	c.size += e.bytes
	for c.size > maxBytes {
		old := c.lru.Back()
		oe := old.Value.(*buildEntry)
		c.lru.Remove(old)
		delete(c.entries, oe.key)
		c.size -= oe.bytes
	}
}

// buildKey hashes the digest and every option the output depends on; ok
// is false when the build must not be cached.
func buildKey(digest string, o Options) (string, bool) {
	if digest == "" {
		return "", false
	}
	b, err := json.Marshal(struct {
		Digest                  string
		Path                    string
		TargetNamespace         string
		NamePrefix, NameSuffix  string
		Patches                 any
		Images                  any
		Components              []string
		IgnoreMissingComponents bool
		BuildMetadata           []string
		CommonMetadata          any
		Limits                  Limits
		AllowRemoteBases        bool
		Substitution            *Substitution
		// Without a decryptor encrypted files are built as they are.
		Decrypts bool
	}{
		digest, o.Path, o.TargetNamespace, o.NamePrefix, o.NameSuffix, o.Patches, o.Images,
		o.Components, o.IgnoreMissingComponents, o.BuildMetadata, o.CommonMetadata, o.Limits,
		o.AllowRemoteBases, o.Substitution, o.Decryptor != nil,
	})
	if err != nil {
		return "", false
	}
	// Hashed: substituted variables may come from Secrets.
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), true
}

// decode returns fresh objects of cached JSON.
func decode(raw [][]byte) ([]*unstructured.Unstructured, error) {
	out := make([]*unstructured.Unstructured, len(raw))
	for i, b := range raw {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(b); err != nil {
			return nil, err
		}
		out[i] = u
	}
	return out, nil
}
