package gitcache

import (
	"context"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"gotk.dev/pkg/git"
	"gotk.dev/pkg/testserver"
)

// TestEviction runs steps against a cache of three commits A, B and C of
// fileSize bytes each and checks which checkouts are kept after each step,
// and that a removed checkout's directory is gone. Steps are "lease X
// owner", "release X" and "forget owner".
func TestEviction(t *testing.T) {
	const fileSize = 64 << 10
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	commits := map[string]string{}
	for _, name := range []string{"A", "B", "C"} {
		h, err := srv.CommitFiles("app", "master", map[string]string{"f": strings.Repeat(name, fileSize)}, name)
		if err != nil {
			t.Fatal(err)
		}
		commits[name] = h
	}
	u, err := git.ParseURL(srv.URL("app"))
	if err != nil {
		t.Fatal(err)
	}

	type step struct {
		do   string
		kept string // the commits kept afterwards, e.g. "BC"
	}
	cases := []struct {
		name   string
		limits Limits
		steps  []step
	}{
		{"entries: least recently used goes", Limits{Entries: 2}, []step{
			{"lease A", "A"}, {"release A", "A"},
			{"lease B", "AB"}, {"release B", "AB"},
			{"lease C", "BC"}, {"release C", "BC"},
			{"lease B", "BC"}, {"release B", "BC"},
			{"lease A", "AB"}, {"release A", "AB"},
		}},
		{"bytes: the total stays under the limit", Limits{Entries: 10, Bytes: 2*fileSize + fileSize/2}, []step{
			{"lease A", "A"}, {"release A", "A"},
			{"lease B", "AB"}, {"release B", "AB"},
			{"lease C", "BC"}, {"release C", "BC"},
		}},
		{"bytes: a larger checkout lives while leased", Limits{Entries: 10, Bytes: fileSize / 2}, []step{
			{"lease A", "A"}, {"lease B", "AB"},
			{"release A", "B"}, {"release B", ""},
		}},
		{"leased checkouts outlive the entry limit", Limits{Entries: 1}, []step{
			{"lease A", "A"}, {"lease B", "AB"}, {"lease C", "ABC"},
			{"release B", "AC"}, {"release A", "C"}, {"release C", "C"},
		}},
		{"a deleted owner's checkouts go, shared ones stay", Limits{Entries: 10}, []step{
			{"lease A x", "A"}, {"release A", "A"},
			{"lease B y", "AB"}, {"release B", "AB"},
			{"lease C x", "ABC"}, {"release C", "ABC"},
			{"lease C y", "ABC"}, {"release C", "ABC"},
			{"forget x", "BC"},
			{"forget y", ""},
		}},
		{"a deleted owner's leased checkout goes at release", Limits{Entries: 10}, []step{
			{"lease A x", "A"}, {"forget x", "A"}, {"release A", ""},
		}},
		{"a forgotten checkout leased again is kept", Limits{Entries: 10}, []step{
			{"lease A x", "A"}, {"forget x", "A"}, {"lease A y", "A"},
			{"release A", "A"}, {"release A", "A"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			c, err := New(t.TempDir(), time.Minute, tc.limits)
			g.Expect(err).NotTo(HaveOccurred())
			leases := map[string][]*Lease{}
			dirs := map[string]string{}
			for i, s := range tc.steps {
				f := strings.Fields(s.do)
				switch f[0] {
				case "lease":
					res, err := git.Resolve(git.Reference{Commit: commits[f[1]]}, nil)
					g.Expect(err).NotTo(HaveOccurred())
					o := Options{}
					if len(f) > 2 {
						o.Owner = f[2]
					}
					l, err := c.Checkout(context.Background(), u, &git.Auth{}, res, o)
					g.Expect(err).NotTo(HaveOccurred(), s.do)
					data, err := os.ReadFile(l.Dir + "/f")
					g.Expect(err).NotTo(HaveOccurred(), s.do)
					g.Expect(data).To(HaveLen(fileSize))
					leases[f[1]] = append(leases[f[1]], l)
					dirs[f[1]] = l.Dir
				case "release":
					ls := leases[f[1]]
					ls[0].Release()
					leases[f[1]] = ls[1:]
				case "forget":
					c.Forget(f[1])
				}
				g.Expect(kept(c, commits)).To(Equal(s.kept), "after step %d %q", i, s.do)
				for name, dir := range dirs {
					_, err := os.Stat(dir)
					g.Expect(err == nil).To(Equal(strings.Contains(s.kept, name)), "directory of %s after step %d %q", name, i, s.do)
				}
			}
			n, size := c.Size()
			g.Expect(size).To(Equal(int64(n * fileSize)))
		})
	}
}

// kept names the commits the cache holds, sorted ("AB").
func kept(c *Cache, commits map[string]string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var names []string
	for _, e := range c.checkouts {
		for name, h := range commits {
			if e.commit.Hash == h {
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	return strings.Join(names, "")
}
