package action

import (
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"k8s.io/client-go/rest"

	"gotk.dev/pkg/runtime/remotecache"
)

// Remotes hands out the shared clients of the remote clusters that
// HelmReleases name in spec.kubeConfig. Clients are built once per version
// of the referenced kubeconfig and per identity, so an unchanged reconcile
// reuses discovery and REST mapping instead of rebuilding them.
type Remotes struct {
	// configs are the loaded kubeconfigs, by reference.
	configs remotecache.Cache[*loadedConfig]
	// clients are the client sets, by reference and identity; a set is
	// valid only for the loaded config it was built from.
	clients remotecache.Cache[*Clients]
	now     func() time.Time
	serial  atomic.Uint64
}

// loadedConfig is one load of a kubeconfig; serial tells loads apart.
type loadedConfig struct {
	cfg    *rest.Config
	serial uint64
}

// NewRemotes returns an empty cache of remote clients.
func NewRemotes() *Remotes {
	r := &Remotes{now: time.Now}
	clock := func() time.Time { return r.now() }
	r.configs.Now, r.clients.Now = clock, clock
	return r
}

// Clients returns the clients of the cluster that ref (e.g.
// "Secret/<namespace>/<name>/<key>") names at version (e.g. the Secret's
// UID and resourceVersion), acting as user (impersonated; "" acts as the
// kubeconfig's own identity). load reads the kubeconfig on a miss. A ttl
// above zero bounds how long a loaded config is used, for identities that
// expire (issued tokens). A new version replaces every client of the
// previous one.
func (r *Remotes) Clients(ref, version string, ttl time.Duration, user string, load func() (*rest.Config, error)) (*Clients, error) {
	base, err := r.configs.Get(ref, version, ttl, func() (*loadedConfig, error) {
		cfg, err := load()
		if err != nil {
			return nil, err
		}
		return &loadedConfig{cfg: cfg, serial: r.serial.Add(1)}, nil
	})
	if err != nil {
		return nil, err
	}
	// Keyed by reference and identity, versioned by the load: a reloaded
	// (new or expired) config builds every identity's clients again.
	return r.clients.Get(clientsKey(ref, user), strconv.FormatUint(base.serial, 10), 0, func() (*Clients, error) {
		cfg := rest.CopyConfig(base.cfg)
		if user != "" {
			cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
		}
		return NewClients(cfg)
	})
}

// Builds returns how many client sets were built: one per kubeconfig
// version and identity, not one per reconcile.
func (r *Remotes) Builds() int {
	return r.clients.Builds()
}

// Forget drops the config and clients of ref, e.g. once its HelmRelease
// is deleted.
func (r *Remotes) Forget(ref string) {
	r.configs.Forget(func(key string) bool { return key == ref })
	r.clients.Forget(func(key string) bool { return strings.HasPrefix(key, ref+"\x00") })
}

// clientsKey is the clients' key of ref acting as user.
func clientsKey(ref, user string) string {
	return ref + "\x00" + user
}
