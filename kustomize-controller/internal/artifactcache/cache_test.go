package artifactcache

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"gotk.dev/pkg/artifact"
	"gotk.dev/pkg/testserver"
)

func TestCacheDownloadsOncePerDigest(t *testing.T) {
	srv := testserver.NewArtifactServerForTest(t)
	url, digest, _, err := srv.AddFiles("a.tar.gz", map[string]string{"app/cm.yaml": "kind: ConfigMap\n"})
	if err != nil {
		t.Fatal(err)
	}
	c := &Cache{Fetcher: artifact.NewFetcher(0, 10*time.Second, 0)}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := c.Get(context.Background(), url, digest)
			if err != nil {
				t.Error(err)
				return
			}
			if b, ok := f.Read("app/cm.yaml"); !ok || string(b) != "kind: ConfigMap\n" {
				t.Errorf("unexpected content %q", b)
			}
		}()
	}
	wg.Wait()
	if n := srv.Downloads("a.tar.gz"); n != 1 {
		t.Fatalf("downloads = %d, want 1", n)
	}

	// A wrong digest is refused and not cached.
	_, err = c.Get(context.Background(), url, "sha256:0000000000000000000000000000000000000000000000000000000000000000")
	if !errors.Is(err, artifact.ErrDigestMismatch) {
		t.Fatalf("want digest mismatch, got %v", err)
	}
}

func TestCacheEvicts(t *testing.T) {
	srv := testserver.NewArtifactServerForTest(t)
	c := &Cache{Fetcher: artifact.NewFetcher(0, 10*time.Second, 0), MaxBytes: 15}
	u1, d1, _, _ := srv.AddFiles("1.tar.gz", map[string]string{"f": "0123456789"})
	u2, d2, _, _ := srv.AddFiles("2.tar.gz", map[string]string{"f": "abcdefghij"})
	for _, p := range [][2]string{{u1, d1}, {u2, d2}, {u1, d1}} {
		if _, err := c.Get(context.Background(), p[0], p[1]); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Downloads("1.tar.gz"); n != 2 {
		t.Fatalf("artifact 1 downloads = %d, want 2 (evicted by artifact 2)", n)
	}
}
