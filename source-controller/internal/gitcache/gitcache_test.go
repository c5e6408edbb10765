package gitcache

import (
	"context"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"gotk.dev/pkg/git"
	"gotk.dev/pkg/testserver"
)

// TestSharing proves on the wire that concurrent callers share one ref
// listing and one clone per URL, commit and credentials, and that other
// credentials never reuse them.
func TestSharing(t *testing.T) {
	g := NewWithT(t)
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	_, err := srv.CommitFiles("app", "master", map[string]string{"a": "a"}, "init")
	g.Expect(err).NotTo(HaveOccurred())
	u, err := git.ParseURL(srv.URL("app"))
	g.Expect(err).NotTo(HaveOccurred())
	c, err := New(t.TempDir(), time.Minute, Limits{Entries: 4})
	g.Expect(err).NotTo(HaveOccurred())
	ctx := context.Background()
	anon := &git.Auth{}

	var wg sync.WaitGroup
	leases := make([]*Lease, 8)
	errs := make([]error, 8)
	for i := range leases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			refs, err := c.ListRefs(ctx, u, anon)
			if err != nil {
				errs[i] = err
				return
			}
			res, err := git.Resolve(git.Reference{}, refs)
			if err != nil {
				errs[i] = err
				return
			}
			leases[i], errs[i] = c.Checkout(ctx, u, anon, res, Options{})
		}()
	}
	wg.Wait()
	for i := range leases {
		g.Expect(errs[i]).NotTo(HaveOccurred())
		g.Expect(leases[i].Dir).To(Equal(leases[0].Dir))
		g.Expect(leases[i].Commit.Revision).To(HavePrefix("master@sha1:"))
		leases[i].Release()
	}
	g.Expect(srv.RequestCount("GET", "/app/info/refs")).To(BeNumerically("<=", 2), "one listing, plus the clone's own advertisement")
	g.Expect(srv.RequestCount("POST", "/app/git-upload-pack")).To(Equal(1))

	// Other credentials: their own listing and clone.
	other := &git.Auth{Username: "someone", Password: "else"}
	refs, err := c.ListRefs(ctx, u, other)
	g.Expect(err).NotTo(HaveOccurred())
	res, err := git.Resolve(git.Reference{}, refs)
	g.Expect(err).NotTo(HaveOccurred())
	l, err := c.Checkout(ctx, u, other, res, Options{})
	g.Expect(err).NotTo(HaveOccurred())
	defer l.Release()
	g.Expect(l.Cached).To(BeFalse())
	g.Expect(srv.RequestCount("POST", "/app/git-upload-pack")).To(Equal(2))
}

// TestFreshListingSeesAPushInsideTheTTL: a cached listing hides a push
// made within the TTL; a fresh listing (a webhook's reconcile request)
// sees it and refreshes the cache for others.
func TestFreshListingSeesAPushInsideTheTTL(t *testing.T) {
	g := NewWithT(t)
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	first, err := srv.CommitFiles("app", "main", map[string]string{"a": "1"}, "one")
	g.Expect(err).NotTo(HaveOccurred())
	u, err := git.ParseURL(srv.URL("app"))
	g.Expect(err).NotTo(HaveOccurred())
	c, err := New(t.TempDir(), time.Hour, Limits{Entries: 4})
	g.Expect(err).NotTo(HaveOccurred())
	ctx := context.Background()
	head := func(list func(context.Context, *git.URL, *git.Auth) ([]git.RemoteRef, error)) string {
		refs, err := list(ctx, u, &git.Auth{})
		g.Expect(err).NotTo(HaveOccurred())
		for _, r := range refs {
			if r.Name == "refs/heads/main" {
				return r.Commit
			}
		}
		t.Fatalf("no main in %v", refs)
		return ""
	}
	g.Expect(head(c.ListRefs)).To(Equal(first))
	second, err := srv.CommitFiles("app", "main", map[string]string{"a": "2"}, "two")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(head(c.ListRefs)).To(Equal(first), "cached within the TTL")
	g.Expect(head(c.ListRefsFresh)).To(Equal(second))
	g.Expect(head(c.ListRefs)).To(Equal(second), "the fresh listing refreshed the cache")
	g.Expect(srv.RequestCount("GET", "/app/info/refs")).To(Equal(2))

	// A failed listing drops the cached one: a retry fails too, rather
	// than succeed on refs the remote may no longer have.
	srv.SetDown(true)
	_, err = c.ListRefsFresh(ctx, u, &git.Auth{})
	g.Expect(err).To(HaveOccurred())
	_, err = c.ListRefs(ctx, u, &git.Auth{})
	g.Expect(err).To(HaveOccurred(), "the cached listing hid the outage")
}
