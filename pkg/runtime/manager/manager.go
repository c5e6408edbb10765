package manager

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/fluxcd/pkg/runtime/events"
	"github.com/fluxcd/pkg/runtime/logger"
	"github.com/fluxcd/pkg/runtime/pprof"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/runtime/redact"
)

// Controller is a started manager with the pieces reconcilers need.
type Controller struct {
	// Manager runs the reconcilers, probes and metrics.
	Manager ctrl.Manager
	// Events records Kubernetes events and POSTs them to --events-addr.
	Events events.Recorder
	// Features are the controller's resolved --feature-gates.
	Features Features
	// AllShards reads objects of the controller's own kinds (Options.Kinds)
	// whatever their shard: dependsOn targets, which may live in another
	// shard than their dependent. It is the cache when not sharded.
	AllShards ctrlclient.Reader
	// Shard is the --watch-label-selector, for reconcilers to name in the
	// messages of references (see reconcile.Shard).
	Shard reconcile.Shard
}

// New sets up logging, the manager (leader election, cache scoped by the
// watch flags, probes, metrics) and the event recorder for a controller.
// Objects listed in uncached are read straight from the API server
// (Secrets, typically, so the controller need not list them all).
func New(name string, scheme *runtime.Scheme, o Options, uncached ...ctrlclient.Object) (*Controller, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	features, err := ResolveFeatureGates(name, o.FeatureGates)
	if err != nil {
		return nil, err
	}
	uncached = features.cacheable(uncached)
	// Every log line and event passes redact: client errors print URLs,
	// and a URL may carry credentials.
	log := redact.Logger(logger.NewLogger(o.Logger))
	ctrl.SetLogger(log)
	if err := o.Jitter.SetGlobalJitter(nil); err != nil {
		return nil, fmt.Errorf("--interval-jitter-percentage: %w", err)
	}

	// No reconciler reads the managed fields of a cached object; dropping
	// them keeps a copy of every writer's field set out of memory.
	cacheOpts := cache.Options{DefaultTransform: cache.TransformStripManagedFields()}
	if err := shardCache(&cacheOpts, o.WatchLabelSelector, o.Kinds); err != nil {
		return nil, err
	}
	if !o.WatchAllNamespaces {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{RuntimeNamespace(): {}}
	}

	restConfig := o.restConfig()
	lease, renew, retry := o.LeaderElection.LeaseDuration, o.LeaderElection.RenewDeadline, o.LeaderElection.RetryPeriod
	// The metrics endpoint serves pprof too, as Flux's controllers' does.
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                        scheme,
		Cache:                         cacheOpts,
		Client:                        ctrlclient.Options{Cache: &ctrlclient.CacheOptions{DisableFor: uncached}},
		Metrics:                       metricsserver.Options{BindAddress: o.MetricsAddr, ExtraHandlers: pprof.GetHandlers()},
		HealthProbeBindAddress:        o.HealthAddr,
		LeaderElection:                o.LeaderElection.Enable,
		LeaderElectionID:              LeaderElectionID(name, o.WatchLabelSelector),
		LeaderElectionNamespace:       RuntimeNamespace(),
		LeaderElectionReleaseOnCancel: o.LeaderElection.ReleaseOnCancel,
		LeaseDuration:                 &lease,
		RenewDeadline:                 &renew,
		RetryPeriod:                   &retry,
		GracefulShutdownTimeout:       durationPtr(30 * time.Second),
		Logger:                        log,
	})
	if err != nil {
		return nil, fmt.Errorf("unable to create the manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	recorder, err := events.NewRecorder(log.WithName("events"), o.EventsAddr, name, events.WithManager(mgr))
	if err != nil {
		return nil, fmt.Errorf("unable to create the event recorder: %w", err)
	}
	allShards, err := newAllShards(mgr.GetClient(), mgr.GetAPIReader(), scheme, o.WatchLabelSelector, o.Kinds)
	if err != nil {
		return nil, err
	}
	shard, err := reconcile.NewShard(o.WatchLabelSelector)
	if err != nil {
		return nil, err
	}
	return &Controller{Manager: mgr, Events: redact.Recorder(recorder), Features: features, AllShards: allShards, Shard: shard}, nil
}

// Run builds the controller, lets setup register its reconcilers and
// runnables, and runs until SIGTERM/SIGINT. It exits the process on error.
func Run(name string, scheme *runtime.Scheme, o Options, setup func(*Controller) error, uncached ...ctrlclient.Object) {
	c, err := New(name, scheme, o, uncached...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
	log := ctrl.Log.WithName("setup")
	if err := setup(c); err != nil {
		log.Error(err, "unable to set up the controller")
		os.Exit(1)
	}
	log.Info("starting manager", "controller", name)
	if err := c.Manager.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "manager stopped with an error")
		os.Exit(1)
	}
}

// ReadyWhenLeading makes /readyz fail while this replica is a standby
// (not the elected leader) and, once it leads, while serving fails. A
// controller whose Service must reach the leader only (source-controller:
// a standby's artifact storage is empty) calls it; the others stay ready
// while standby, as Flux's do, since they serve nothing only the leader
// has. Without leader election every replica counts as elected.
func (c *Controller) ReadyWhenLeading(serving healthz.Checker) error {
	elected := c.Manager.Elected()
	return c.Manager.AddReadyzCheck("leader", func(req *http.Request) error {
		select {
		case <-elected:
		default:
			return errors.New("not the elected leader")
		}
		if serving != nil {
			return serving(req)
		}
		return nil
	})
}

func durationPtr(d time.Duration) *time.Duration { return &d }
