package cloudauth

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// DefaultTokenCacheEntries bounds the process's token cache.
const DefaultTokenCacheEntries = 512

// TokenExpiryMargin: a cached token is not handed out when it expires
// within this margin, so no request carries one that expires in flight;
// a token that lives less than that is not cached at all.
const TokenExpiryMargin = 2 * time.Minute

// TokenCache keeps tokens and registry logins until shortly before they
// expire, least recently used first out, so a reconcile does not ask a
// cloud's token service again for what it handed out minutes ago.
type TokenCache struct {
	// MaxEntries bounds the cache (DefaultTokenCacheEntries when 0).
	MaxEntries int
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	mu    sync.Mutex
	lru   *list.List // of *tokenEntry, most recently used first
	byKey map[string]*list.Element
}

type tokenEntry struct {
	key    string
	value  any
	expiry time.Time
}

// TokenKey says whose token for what: the provider, the identity
// (IdentityKey) and the scope (a registry host, an Entra scope, a
// cluster).
type TokenKey struct {
	Provider, Identity, Scope string
}

func (k TokenKey) String() string { return k.Provider + "\x00" + k.Identity + "\x00" + k.Scope }

// tokens is the process's cache, shared by every flow of this package.
var tokens = &TokenCache{}

func (c *TokenCache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Get returns the value of key unless it is missing or expires within
// TokenExpiryMargin.
func (c *TokenCache) Get(key TokenKey) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key.String()]
	if !ok {
		return nil, false
	}
	e := el.Value.(*tokenEntry)
	if !c.now().Add(TokenExpiryMargin).Before(e.expiry) {
		c.lru.Remove(el)
		delete(c.byKey, e.key)
		return nil, false
	}
	c.lru.MoveToFront(el)
	return e.value, true
}

// Put keeps value for key until expiry, evicting the least recently used
// entry when full; a value expiring within TokenExpiryMargin is not kept.
func (c *TokenCache) Put(key TokenKey, value any, expiry time.Time) {
	if !c.now().Add(TokenExpiryMargin).Before(expiry) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lru == nil {
		c.lru, c.byKey = list.New(), map[string]*list.Element{}
	}
	k := key.String()
	if el, ok := c.byKey[k]; ok {
		c.lru.Remove(el)
	}
	c.byKey[k] = c.lru.PushFront(&tokenEntry{key: k, value: value, expiry: expiry})
	max := c.MaxEntries
	if max <= 0 {
		max = DefaultTokenCacheEntries
	}
	for c.lru.Len() > max {
		last := c.lru.Back()
		c.lru.Remove(last)
		delete(c.byKey, last.Value.(*tokenEntry).key)
	}
}

// Len is the number of entries kept, expired ones included.
func (c *TokenCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lru == nil {
		return 0
	}
	return c.lru.Len()
}

// cachedToken returns the cached value of key, or fetches, keeps and
// returns it. Errors are never kept.
func cachedToken[T any](key TokenKey, fetch func() (T, time.Time, error)) (T, error) {
	if v, ok := tokens.Get(key); ok {
		return v.(T), nil
	}
	v, expiry, err := fetch()
	if err != nil {
		return v, err
	}
	tokens.Put(key, v, expiry)
	return v, nil
}

// IdentityKey names the identity o's requests use, for cache keys: the
// ServiceAccount and its annotations, or the controller's environment
// credentials and endpoints (a digest, never the values), and the HTTP
// client that carries them.
func IdentityKey(o Options) string {
	// The environment names the token services too (endpoints), so it is
	// part of a ServiceAccount's key as well.
	key := "env:" + environmentDigest() + "|" + fmt.Sprintf("%p", o.HTTPClient)
	if id := o.Identity; id != nil {
		annotations := make([]string, 0, len(id.Annotations))
		for k, v := range id.Annotations {
			annotations = append(annotations, k+"="+v)
		}
		sort.Strings(annotations)
		key = "sa:" + id.Name + "|" + strings.Join(annotations, ",") + "|" + key
	}
	return key
}

// environmentDigest digests the cloud SDKs' settings of the environment.
func environmentDigest() string {
	var env []string
	for _, kv := range os.Environ() {
		for _, prefix := range []string{"AWS_", "AZURE_", "GCE_", "GOOGLE_", "CLOUDSDK_", "IDENTITY_", "MSI_", "HOME="} {
			if strings.HasPrefix(kv, prefix) {
				env = append(env, kv)
				break
			}
		}
	}
	sort.Strings(env)
	sum := sha256.Sum256([]byte(strings.Join(env, "\n")))
	return hex.EncodeToString(sum[:8])
}
