package helm

import (
	"testing"

	"helm.sh/helm/v3/pkg/repo"
)

func FuzzParseIndex(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nentries:\n  podinfo:\n  - name: podinfo\n    version: 6.0.0\n    urls: [podinfo-6.0.0.tgz]\n"))
	f.Add([]byte("apiVersion: v1\nentries: {}\n"))
	f.Add([]byte("not: [yaml"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseIndex(data)
	})
}

func TestIndexCacheLoadsOnce(t *testing.T) {
	c := &IndexCache{TTL: 1 << 40}
	loads := 0
	load := func() (*repo.IndexFile, error) { loads++; return repo.NewIndexFile(), nil }
	for range 3 {
		if _, err := c.Get("sha256:a", load); err != nil {
			t.Fatal(err)
		}
	}
	if loads != 1 || c.Len() != 1 {
		t.Fatalf("loads = %d, entries = %d; want 1, 1", loads, c.Len())
	}
}
