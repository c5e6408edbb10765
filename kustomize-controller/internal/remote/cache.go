// Package remote keeps the clients of the clusters Kustomizations apply to
// through spec.kubeConfig, so an unchanged reconcile reuses the client, its
// discovery (REST mapper) and its drift watch instead of rebuilding them.
package remote

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"gotk.dev/pkg/runtime/remotecache"

	"gotk.dev/kustomize-controller/internal/drift"
)

// DefaultMaxEntries bounds the clusters kept when MaxEntries is 0.
const DefaultMaxEntries = remotecache.DefaultMaxEntries

// Cluster is what the controller needs of one remote cluster.
type Cluster struct {
	// Client applies, prunes and reads objects in the remote cluster.
	Client client.Client
	// Drift watches the objects applied there; nil when the cache has no
	// Notify.
	Drift *drift.Watcher

	cancel context.CancelFunc
}

// Cache holds one Cluster per key (which reference, which identity), valid
// while the referenced object's version is unchanged, least recently used
// first out; the keeping is remotecache's, the building this package's.
type Cache struct {
	// Scheme is used by the remote clients.
	Scheme *runtime.Scheme
	// FieldManager is the controller's; its writes are not drift.
	FieldManager string
	// Notify, when set, gives every cluster a drift watcher reporting to it.
	Notify func(drift.Change)
	// QPS and Burst limit each remote client (0: client-go defaults).
	QPS   float32
	Burst int
	// MaxEntries bounds the clusters kept (0: DefaultMaxEntries).
	MaxEntries int

	init     sync.Once
	clusters remotecache.Cache[*Cluster]
	mu       sync.Mutex
	ctx      context.Context
}

// Bind sets the context the drift watchers run under; they stop when it
// ends. Without it they run until evicted.
func (c *Cache) Bind(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ctx = ctx
}

// Get returns the cluster cached under key if it was built from the same
// version of the referenced object and has not expired; otherwise it calls
// load and builds a new one, replacing the old. ttl 0 never expires (a
// kubeconfig with a token that does not expire).
func (c *Cache) Get(key, version string, ttl time.Duration, load func() (*rest.Config, error)) (*Cluster, error) {
	return c.cache().Get(key, version, ttl, func() (*Cluster, error) {
		cfg, err := load()
		if err != nil {
			return nil, err
		}
		return c.build(cfg)
	})
}

// Builds reports how many clusters were built so far (each one is a new
// client, discovery and watch).
func (c *Cache) Builds() int { return c.cache().Builds() }

// Close stops every cluster's drift watch and forgets the clusters, e.g.
// before their API servers go away.
func (c *Cache) Close() { c.cache().Close() }

// cache returns the clusters, set up on first use from the fields.
func (c *Cache) cache() *remotecache.Cache[*Cluster] {
	c.init.Do(func() {
		c.clusters.MaxEntries = c.MaxEntries
		c.clusters.Release = func(cl *Cluster) {
			// A dropped cluster's drift watch stops with it.
			if cl.cancel != nil {
				cl.cancel()
			}
		}
	})
	return &c.clusters
}

// build makes the client (with a lazy REST mapper: discovery happens once
// per kind, then is reused) and, when there is a Notify, the drift watcher.
func (c *Cache) build(loaded *rest.Config) (*Cluster, error) {
	cfg := rest.CopyConfig(loaded)
	if c.QPS > 0 {
		cfg.QPS, cfg.Burst = c.QPS, c.Burst
	}
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("remote cluster %s: %w", cfg.Host, err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("remote cluster %s: %w", cfg.Host, err)
	}
	cl, err := client.New(cfg, client.Options{HTTPClient: httpClient, Scheme: c.Scheme, Mapper: mapper})
	if err != nil {
		return nil, fmt.Errorf("remote cluster %s: %w", cfg.Host, err)
	}
	out := &Cluster{Client: cl}
	if c.Notify != nil {
		meta, err := metadata.NewForConfigAndClient(cfg, httpClient)
		if err != nil {
			return nil, fmt.Errorf("remote cluster %s: %w", cfg.Host, err)
		}
		c.mu.Lock()
		base := c.ctx
		c.mu.Unlock()
		if base == nil {
			base = context.Background()
		}
		ctx, cancel := context.WithCancel(base)
		out.cancel = cancel
		out.Drift = &drift.Watcher{Client: meta, Mapper: mapper, FieldManager: c.FieldManager, Notify: c.Notify}
		out.Drift.Bind(ctx)
	}
	return out, nil
}
