package action

import (
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
)

// TestRemotesCache: clients are built once per kubeconfig version and
// identity; a new version or an expired one loads the kubeconfig again,
// and a failed load is returned and not cached.
func TestRemotesCache(t *testing.T) {
	now := time.Unix(1000, 0)
	r := NewRemotes()
	r.now = func() time.Time { return now }
	loads := 0
	built := map[string]*Clients{}
	load := func() (*rest.Config, error) {
		loads++
		return &rest.Config{Host: "https://127.0.0.1:1"}, nil
	}
	for _, tc := range []struct {
		name, ref, version, user string
		ttl                      time.Duration
		advance                  time.Duration
		wantLoads                int
		wantSame                 string // name of an earlier step whose clients are returned
	}{
		{name: "first", ref: "Secret/a/kc/", version: "u1/1", wantLoads: 1},
		{name: "unchanged", ref: "Secret/a/kc/", version: "u1/1", wantLoads: 1, wantSame: "first"},
		{name: "impersonated", ref: "Secret/a/kc/", version: "u1/1", user: "system:serviceaccount:a:sa", wantLoads: 1},
		{name: "impersonated again", ref: "Secret/a/kc/", version: "u1/1", user: "system:serviceaccount:a:sa", wantLoads: 1, wantSame: "impersonated"},
		{name: "new version", ref: "Secret/a/kc/", version: "u1/2", wantLoads: 2},
		{name: "other ref", ref: "Secret/b/kc/", version: "u1/2", wantLoads: 3},
		{name: "issued token", ref: "ConfigMap/a/cm", version: "u2/1", ttl: time.Minute, wantLoads: 4},
		{name: "token still valid", ref: "ConfigMap/a/cm", version: "u2/1", ttl: time.Minute, advance: 30 * time.Second, wantLoads: 4, wantSame: "issued token"},
		{name: "token expired", ref: "ConfigMap/a/cm", version: "u2/1", ttl: time.Minute, advance: 31 * time.Second, wantLoads: 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			now = now.Add(tc.advance)
			c, err := r.Clients(tc.ref, tc.version, tc.ttl, tc.user, load)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(loads).To(Equal(tc.wantLoads))
			cfg, _ := c.getter.ToRESTConfig()
			g.Expect(cfg.Impersonate.UserName).To(Equal(tc.user))
			if tc.wantSame != "" {
				g.Expect(c).To(BeIdenticalTo(built[tc.wantSame]))
			} else {
				for name, other := range built {
					g.Expect(c).NotTo(BeIdenticalTo(other), "clients of %q reused", name)
				}
			}
			built[tc.name] = c
		})
	}

	g := NewWithT(t)
	g.Expect(r.Builds()).To(Equal(6), "one build per new version, identity or expiry")
	_, err := r.Clients("Secret/c/kc/", "u3/1", 0, "", func() (*rest.Config, error) { return nil, errors.New("no such Secret") })
	g.Expect(err).To(MatchError("no such Secret"))
	_, err = r.Clients("Secret/c/kc/", "u3/1", 0, "", load)
	g.Expect(err).NotTo(HaveOccurred(), "a failed load is not cached")

	r.Forget("Secret/c/kc/")
	before := loads
	_, err = r.Clients("Secret/c/kc/", "u3/1", 0, "", load)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(loads).To(Equal(before+1), "a forgotten reference is loaded again")
}
