package remotecache

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCache: a value is built once per key and version, rebuilt when the
// version changes or its time to live has passed, the least recently
// used goes first, and every value let go is released once.
func TestCache(t *testing.T) {
	now := time.Unix(1000, 0)
	var released []string
	c := &Cache[string]{MaxEntries: 2, Now: func() time.Time { return now }, Release: func(v string) { released = append(released, v) }}
	builds := 0
	for _, s := range []struct {
		name, key, version string
		ttl, advance       time.Duration
		want               string // the value returned: "key@version#build"
		wantReleased       []string
	}{
		{name: "first use builds", key: "a", version: "v1", want: "a@v1#1"},
		{name: "same version is reused", key: "a", version: "v1", want: "a@v1#1"},
		{name: "new version rebuilds and releases the old", key: "a", version: "v2", want: "a@v2#2", wantReleased: []string{"a@v1#1"}},
		{name: "other key builds", key: "b", version: "v1", want: "b@v1#3"},
		{name: "third key evicts the least recently used", key: "c", version: "v1", want: "c@v1#4", wantReleased: []string{"a@v2#2"}},
		{name: "b is still kept", key: "b", version: "v1", want: "b@v1#3"},
		{name: "with a ttl", key: "d", version: "v1", ttl: time.Minute, want: "d@v1#5", wantReleased: []string{"c@v1#4"}},
		{name: "before it expires", key: "d", version: "v1", ttl: time.Minute, advance: 59 * time.Second, want: "d@v1#5"},
		{name: "once expired", key: "d", version: "v1", ttl: time.Minute, advance: time.Second, want: "d@v1#6", wantReleased: []string{"d@v1#5"}},
	} {
		released = nil
		now = now.Add(s.advance)
		got, err := c.Get(s.key, s.version, s.ttl, func() (string, error) {
			builds++
			return s.key + "@" + s.version + "#" + string(rune('0'+builds)), nil
		})
		if err != nil || got != s.want {
			t.Fatalf("%s: got %q, %v; want %q", s.name, got, err, s.want)
		}
		if !slices.Equal(released, s.wantReleased) {
			t.Fatalf("%s: released %q, want %q", s.name, released, s.wantReleased)
		}
	}
	if c.Builds() != 6 {
		t.Fatalf("builds %d, want 6", c.Builds())
	}

	failing := errors.New("no kubeconfig")
	if _, err := c.Get("e", "v1", 0, func() (string, error) { return "", failing }); !errors.Is(err, failing) {
		t.Fatalf("error %v", err)
	}
	if c.Builds() != 6 || c.Len() != 2 {
		t.Fatal("a failed build was kept")
	}

	released = nil
	c.Forget(func(key string) bool { return strings.HasPrefix(key, "d") })
	if !slices.Equal(released, []string{"d@v1#6"}) || c.Len() != 1 {
		t.Fatalf("Forget released %q and kept %d", released, c.Len())
	}
	c.Close()
	if c.Len() != 0 || !slices.Equal(released, []string{"d@v1#6", "b@v1#3"}) {
		t.Fatalf("Close released %q and kept %d", released, c.Len())
	}
}

// TestCacheConcurrentBuildsShareOne: two misses of one key built at once
// return one value; the other is released.
func TestCacheConcurrentBuildsShareOne(t *testing.T) {
	var mu sync.Mutex
	var released []int
	c := &Cache[int]{Release: func(v int) { mu.Lock(); released = append(released, v); mu.Unlock() }}
	start := make(chan struct{})
	var building sync.WaitGroup
	building.Add(2)
	results := make([]int, 2)
	var done sync.WaitGroup
	for i := range 2 {
		done.Add(1)
		go func() {
			defer done.Done()
			results[i], _ = c.Get("k", "v1", 0, func() (int, error) {
				building.Done()
				<-start // both are building before either keeps its value
				return i + 1, nil
			})
		}()
	}
	building.Wait()
	close(start)
	done.Wait()
	if results[0] != results[1] {
		t.Fatalf("two values for one key: %v", results)
	}
	if len(released) != 1 || released[0] == results[0] {
		t.Fatalf("released %v, kept %d", released, results[0])
	}
	if c.Builds() != 2 || c.Len() != 1 {
		t.Fatalf("builds %d, entries %d", c.Builds(), c.Len())
	}
}
