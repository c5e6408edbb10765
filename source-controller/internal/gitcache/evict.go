package gitcache

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Forget tells the cache that owner (see Options.Owner) was deleted: the
// checkouts no other existing object leased are removed, now or, when in
// use, at their release.
func (c *Cache) Forget(owner string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.checkouts {
		if e.owners[owner] {
			delete(e.owners, owner)
			e.orphaned = len(e.owners) == 0
		}
	}
	c.evictLocked("")
}

// OwnedDirs returns the directories of the kept checkouts owner leased.
func (c *Cache) OwnedDirs(owner string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var dirs []string
	for _, e := range c.checkouts {
		if e.owners[owner] {
			dirs = append(dirs, e.dir)
		}
	}
	return dirs
}

// Size returns how many checkouts are kept and their total size in bytes.
func (c *Cache) Size() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.checkouts {
		bytes += e.size
	}
	return len(c.checkouts), bytes
}

// evictLocked removes the unleased checkouts of deleted owners, then the
// least recently used unleased ones until the limits hold. keep is spared
// (a checkout just cloned, not yet leased by its caller).
func (c *Cache) evictLocked(keep string) {
	type kv struct {
		k string
		e *checkout
	}
	var idle []kv
	var total int64
	for k, e := range c.checkouts {
		total += e.size
		if e.leases > 0 || k == keep {
			continue
		}
		if e.orphaned {
			c.removeLocked(k, e)
			total -= e.size
			continue
		}
		idle = append(idle, kv{k, e})
	}
	sort.Slice(idle, func(i, j int) bool { return idle[i].e.lastUsed.Before(idle[j].e.lastUsed) })
	for _, x := range idle {
		if len(c.checkouts) <= c.limits.Entries && (c.limits.Bytes <= 0 || total <= c.limits.Bytes) {
			return
		}
		c.removeLocked(x.k, x.e)
		total -= x.e.size
	}
}

func (c *Cache) removeLocked(k string, e *checkout) {
	delete(c.checkouts, k)
	_ = os.RemoveAll(e.dir)
}

// dirSize sums the sizes of the regular files under dir.
func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			total += info.Size()
		}
		return err
	})
	return total, err
}
