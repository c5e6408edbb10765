// Package gitcache shares Git network work between GitRepositories that
// point at the same repository: one in-flight ref listing per URL and
// credentials (reused for a short TTL), and one clone per URL, resolved
// commit and credentials, kept on disk for later reconciles.
//
// Keys always include the credentials' identity (git.Auth.ID), so an
// object never receives refs or content fetched with another object's
// credentials.
package gitcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"gotk.dev/pkg/git"
)

// Cache holds the shared ref listings and checkouts. The zero value is
// not usable; see New.
type Cache struct {
	dir    string
	refTTL time.Duration
	limits Limits

	refFlight   singleflight.Group
	cloneFlight singleflight.Group

	mu        sync.Mutex
	refs      map[string]refEntry
	checkouts map[string]*checkout
}

type refEntry struct {
	refs []git.RemoteRef
	at   time.Time
}

type checkout struct {
	// origin is the key of the URL and credentials it was fetched with.
	origin   string
	dir      string
	commit   git.Commit
	size     int64
	leases   int
	lastUsed time.Time
	// owners are the objects that leased the checkout and still exist;
	// orphaned means the last of them was deleted (see Forget).
	owners   map[string]bool
	orphaned bool
}

// Limits bound the checkouts kept for reuse. Leased checkouts are never
// removed, so a checkout larger than Bytes lives only while in use.
type Limits struct {
	// Entries is how many checkouts are kept (at least 1).
	Entries int
	// Bytes, when > 0, bounds the total size of the kept checkouts' files.
	Bytes int64
}

// New returns a cache keeping checkouts under dir (created if needed)
// within limits, and reusing ref listings for refTTL (0: only concurrent
// listings are shared).
func New(dir string, refTTL time.Duration, limits Limits) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("git cache: %w", err)
	}
	// Leftovers of a previous process are not trusted.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "clone-") {
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
	if limits.Entries < 1 {
		limits.Entries = 1
	}
	return &Cache{dir: dir, refTTL: refTTL, limits: limits, refs: map[string]refEntry{}, checkouts: map[string]*checkout{}}, nil
}

func key(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\n", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// entryKey keys a checkout by URL, commit and credentials, plus the tag
// when a tag was fetched: the annotated tag object (and its signature) is
// part of what a checkout of a tag holds.
func entryKey(u *git.URL, commit string, auth *git.Auth, res *git.Resolution, o Options) string {
	tag := ""
	if strings.HasPrefix(res.RefName, "refs/tags/") {
		tag = res.RefName
	}
	return key(u.String(), commit, auth.ID(), tag, fmt.Sprint(o.RecurseSubmodules))
}

// Options shape what a checkout holds.
type Options struct {
	// MaxBytes refuses checkouts larger than this (0: no limit).
	MaxBytes int64
	// RecurseSubmodules also checks out submodules (a separate entry).
	RecurseSubmodules bool
	// Owner names the object the checkout is for ("namespace/name"); a
	// checkout whose owners are all forgotten is removed (see Forget). It
	// is not part of the key: objects with the same URL, commit and
	// credentials share a checkout.
	Owner string
}

// removeGitDirs deletes the repository metadata of a checkout: the .git
// directory and the .git files of submodules.
func removeGitDirs(dir string) error {
	var gitPaths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == ".git" {
			gitPaths = append(gitPaths, p)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	for _, p := range gitPaths {
		if rerr := os.RemoveAll(p); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

// ListRefs lists u's refs, sharing one in-flight listing per URL and
// credentials and reusing its result for the TTL.
func (c *Cache) ListRefs(ctx context.Context, u *git.URL, auth *git.Auth) ([]git.RemoteRef, error) {
	return c.listRefs(ctx, u, auth, false)
}

// ListRefsFresh lists u's refs from the remote now, neither reusing a
// cached listing nor joining one in flight (which may predate a push),
// and caches the result for others.
func (c *Cache) ListRefsFresh(ctx context.Context, u *git.URL, auth *git.Auth) ([]git.RemoteRef, error) {
	return c.listRefs(ctx, u, auth, true)
}

func (c *Cache) listRefs(ctx context.Context, u *git.URL, auth *git.Auth, fresh bool) ([]git.RemoteRef, error) {
	k := key(u.String(), auth.ID())
	c.mu.Lock()
	ttl := c.refTTL
	if e, ok := c.refs[k]; ok && !fresh && ttl > 0 && time.Since(e.at) < ttl {
		c.mu.Unlock()
		return e.refs, nil
	}
	c.mu.Unlock()
	flightKey := k
	if fresh {
		flightKey = k + "\x00fresh"
	}
	v, err, _ := c.refFlight.Do(flightKey, func() (any, error) {
		refs, err := git.ListRefs(ctx, u, auth)
		if err != nil {
			// A failed listing makes the cached one suspect: the remote
			// may have moved; nobody may reuse it to hide the failure.
			c.mu.Lock()
			delete(c.refs, k)
			c.mu.Unlock()
			return nil, err
		}
		c.mu.Lock()
		c.refs[k] = refEntry{refs: refs, at: time.Now()}
		for other, e := range c.refs {
			if time.Since(e.at) > c.refTTL && other != k {
				delete(c.refs, other)
			}
		}
		c.mu.Unlock()
		return refs, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]git.RemoteRef), nil
}

// SetRefTTL changes how long ref listings are reused.
func (c *Cache) SetRefTTL(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refTTL = d
}

// Lease is a read-only checkout (no .git) held until Release.
type Lease struct {
	// Dir is the checkout; callers must not modify it.
	Dir string
	// Commit is the checked-out commit, with the caller's revision.
	Commit git.Commit
	// Cached reports that no clone was needed.
	Cached  bool
	release func()
}

// Release lets the cache evict the checkout.
func (l *Lease) Release() { l.release() }

// Checkout returns a leased checkout of res on u, cloning it once for all
// concurrent and later callers with the same URL, commit and credentials.
func (c *Cache) Checkout(ctx context.Context, u *git.URL, auth *git.Auth, res *git.Resolution, o Options) (*Lease, error) {
	k := entryKey(u, res.Commit, auth, res, o)
	if l := c.lease(k, res, o.Owner); l != nil {
		l.Cached = true
		return l, nil
	}
	// A checkout larger than the byte limit may be evicted by another
	// release between the clone and the lease: clone once more.
	for range 2 {
		_, err, _ := c.cloneFlight.Do(k, func() (any, error) {
			if l := c.lease(k, res, ""); l != nil {
				l.Release()
				return nil, nil
			}
			_, err := c.clone(ctx, u, auth, res, o)
			return nil, err
		})
		if err != nil {
			return nil, err
		}
		if l := c.lease(k, res, o.Owner); l != nil {
			return l, nil
		}
	}
	return nil, fmt.Errorf("git cache: checkout of %s evicted before use", res.Commit)
}

// FirstCheckout checks out ref for an object that has no artifact yet,
// where there is nothing to compare a listing with. When the cache knows
// the URL and credentials (a fresh listing or a kept checkout) it lists
// and reuses; otherwise a branch, tag or name is fetched directly, saving
// the separate ref listing. It returns the lease and the resolution.
func (c *Cache) FirstCheckout(ctx context.Context, u *git.URL, auth *git.Auth, ref git.Reference, o Options) (*Lease, *git.Resolution, error) {
	unres, err := git.Unresolved(ref)
	if err != nil {
		return nil, nil, err
	}
	if unres == nil || c.knows(u, auth) {
		var refs []git.RemoteRef
		if ref.Kind() != "commit" {
			if refs, err = c.ListRefs(ctx, u, auth); err != nil {
				return nil, nil, err
			}
		}
		res, err := git.Resolve(ref, refs)
		if err != nil {
			return nil, nil, err
		}
		l, err := c.Checkout(ctx, u, auth, res, o)
		return l, res, err
	}
	v, err, _ := c.cloneFlight.Do(key(u.String(), auth.ID(), unres.RefName, unres.Short, fmt.Sprint(o.RecurseSubmodules)), func() (any, error) {
		return c.clone(ctx, u, auth, unres, o)
	})
	if err != nil {
		return nil, nil, err
	}
	commit := v.(*git.Commit)
	res := *unres
	res.Commit, res.Revision = commit.Hash, commit.Revision
	if l := c.lease(entryKey(u, res.Commit, auth, &res, o), &res, o.Owner); l != nil {
		return l, &res, nil
	}
	l, err := c.Checkout(ctx, u, auth, &res, o)
	return l, &res, err
}

// clone fetches res into a new cache entry keyed by the fetched commit.
func (c *Cache) clone(ctx context.Context, u *git.URL, auth *git.Auth, res *git.Resolution, o Options) (*git.Commit, error) {
	tmp, err := os.MkdirTemp(c.dir, "clone-")
	if err != nil {
		return nil, err
	}
	commit, err := git.Clone(ctx, u, tmp, git.CloneOptions{Auth: auth, Resolution: res, MaxBytes: o.MaxBytes, RecurseSubmodules: o.RecurseSubmodules})
	if err == nil {
		err = removeGitDirs(tmp)
	}
	var size int64
	if err == nil {
		size, err = dirSize(tmp)
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		return nil, err
	}
	k := entryKey(u, commit.Hash, auth, res, o)
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.checkouts[k]; ok && old.leases == 0 {
		_ = os.RemoveAll(old.dir)
	} else if ok {
		// In use: keep the leased copy, drop the new one.
		_ = os.RemoveAll(tmp)
		return commit, nil
	}
	c.checkouts[k] = &checkout{dir: tmp, commit: *commit, size: size, origin: key(u.String(), auth.ID()), lastUsed: time.Now(), owners: map[string]bool{}}
	c.evictLocked(k)
	return commit, nil
}

// knows reports whether a fresh listing or a kept checkout exists for u
// with these credentials.
func (c *Cache) knows(u *git.URL, auth *git.Auth) bool {
	origin := key(u.String(), auth.ID())
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.refs[origin]; ok && c.refTTL > 0 && time.Since(e.at) < c.refTTL {
		return true
	}
	for _, e := range c.checkouts {
		if e.origin == origin {
			return true
		}
	}
	return false
}

// lease leases entry k for owner ("" for none).
func (c *Cache) lease(k string, res *git.Resolution, owner string) *Lease {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.checkouts[k]
	if !ok {
		return nil
	}
	if owner != "" {
		e.owners[owner] = true
		e.orphaned = false
	}
	e.leases++
	e.lastUsed = time.Now()
	commit := e.commit
	if commit.Hash == res.Commit {
		commit.Revision = res.Revision
	}
	var once sync.Once
	return &Lease{Dir: e.dir, Commit: commit, release: func() {
		once.Do(func() {
			c.mu.Lock()
			e.leases--
			e.lastUsed = time.Now()
			c.evictLocked("")
			c.mu.Unlock()
		})
	}}
}
