package remote

import (
	"errors"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
)

// No API server is contacted: clients and their REST mappers are lazy.
func TestCacheReusesUntilVersionChanges(t *testing.T) {
	loads := 0
	load := func() (*rest.Config, error) { loads++; return &rest.Config{Host: "https://127.0.0.1:1"}, nil }
	c := &Cache{Scheme: runtime.NewScheme(), MaxEntries: 2}

	steps := []struct {
		name, key, version string
		ttl                time.Duration
		wantLoads          int
	}{
		{name: "first use builds", key: "a", version: "v1", wantLoads: 1},
		{name: "same version is reused", key: "a", version: "v1", wantLoads: 1},
		{name: "new version rebuilds", key: "a", version: "v2", wantLoads: 2},
		{name: "other key builds", key: "b", version: "v1", wantLoads: 3},
		{name: "third key evicts the least recently used (a)", key: "c", version: "v1", wantLoads: 4},
		{name: "b is still cached", key: "b", version: "v1", wantLoads: 4},
		{name: "a was evicted", key: "a", version: "v2", wantLoads: 5},
		{name: "expired entry rebuilds", key: "d", version: "v1", ttl: time.Nanosecond, wantLoads: 6},
		{name: "and again once expired", key: "d", version: "v1", ttl: time.Nanosecond, wantLoads: 7},
	}
	for _, s := range steps {
		cl, err := c.Get(s.key, s.version, s.ttl, load)
		if err != nil || cl.Client == nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if loads != s.wantLoads {
			t.Fatalf("%s: %d loads, want %d", s.name, loads, s.wantLoads)
		}
	}
	if c.Builds() != 7 {
		t.Fatalf("builds %d", c.Builds())
	}

	failing := errors.New("no kubeconfig")
	if _, err := c.Get("e", "v1", 0, func() (*rest.Config, error) { return nil, failing }); !errors.Is(err, failing) {
		t.Fatalf("error %v", err)
	}
	if c.Builds() != 7 {
		t.Fatal("a failed load was cached")
	}
	c.Close()
	if c.clusters.Len() != 0 {
		t.Fatal("Close kept entries")
	}
}
