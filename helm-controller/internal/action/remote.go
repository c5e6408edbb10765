package action

import (
	"sync"
	"time"

	"k8s.io/client-go/rest"
)

// Remotes hands out the shared clients of the remote clusters that
// HelmReleases name in spec.kubeConfig. Clients are built once per version
// of the referenced kubeconfig and per identity, so an unchanged reconcile
// reuses discovery and REST mapping instead of rebuilding them.
type Remotes struct {
	mu    sync.Mutex
	byRef map[string]*remote
	now   func() time.Time
	// builds counts the client sets built, for tests and benchmarks.
	builds int
}

// remote is one version of one kubeconfig reference and the clients built
// from it.
type remote struct {
	version string
	expires time.Time // zero: never
	base    *rest.Config
	clients map[string]*Clients // by impersonated user, "" for none
}

// NewRemotes returns an empty cache of remote clients.
func NewRemotes() *Remotes {
	return &Remotes{byRef: map[string]*remote{}, now: time.Now}
}

// Clients returns the clients of the cluster that ref (e.g.
// "Secret/<namespace>/<name>/<key>") names at version (e.g. the Secret's
// UID and resourceVersion), acting as user (impersonated; "" acts as the
// kubeconfig's own identity). load reads the kubeconfig on a miss. A ttl
// above zero bounds how long a loaded config is used, for identities that
// expire (issued tokens). A new version replaces every client of the
// previous one.
func (r *Remotes) Clients(ref, version string, ttl time.Duration, user string, load func() (*rest.Config, error)) (*Clients, error) {
	r.mu.Lock()
	e := r.current(ref, version)
	if e != nil {
		if c := e.clients[user]; c != nil {
			r.mu.Unlock()
			return c, nil
		}
	}
	r.mu.Unlock()

	// Load and build outside the lock: a miss reads the API server, and
	// hits of other releases must not wait for it.
	var base *rest.Config
	if e != nil {
		base = e.base
	} else {
		var err error
		if base, err = load(); err != nil {
			return nil, err
		}
	}
	cfg := rest.CopyConfig(base)
	if user != "" {
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	}
	c, err := NewClients(cfg)
	if err != nil {
		return nil, err
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	r.builds++
	cur := r.current(ref, version)
	if cur == nil {
		cur = &remote{version: version, base: base, clients: map[string]*Clients{}}
		if ttl > 0 {
			cur.expires = r.now().Add(ttl)
		}
		r.byRef[ref] = cur
	}
	if existing := cur.clients[user]; existing != nil {
		// Another reconcile built them meanwhile; share one set.
		return existing, nil
	}
	cur.clients[user] = c
	return c, nil
}

// Builds returns how many client sets were built: one per kubeconfig
// version and identity, not one per reconcile.
func (r *Remotes) Builds() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.builds
}

// Forget drops the clients of ref, e.g. once its HelmRelease is deleted.
func (r *Remotes) Forget(ref string) {
	r.mu.Lock()
	delete(r.byRef, ref)
	r.mu.Unlock()
}

// current returns the unexpired entry of ref at version, nil otherwise.
// r.mu is held.
func (r *Remotes) current(ref, version string) *remote {
	e := r.byRef[ref]
	if e == nil || e.version != version || (!e.expires.IsZero() && !r.now().Before(e.expires)) {
		return nil
	}
	return e
}
