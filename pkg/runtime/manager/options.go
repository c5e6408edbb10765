// Package manager builds the controller-runtime manager every gotk
// controller runs, from the flags they share.
package manager

import (
	"fmt"
	"os"
	"strconv"

	"github.com/fluxcd/pkg/runtime/client"
	"github.com/fluxcd/pkg/runtime/controller"
	"github.com/fluxcd/pkg/runtime/jitter"
	"github.com/fluxcd/pkg/runtime/leaderelection"
	"github.com/fluxcd/pkg/runtime/logger"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	cliflag "k8s.io/component-base/cli/flag"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/pkg/runtime/reconcile"
)

// Options are the flags shared by every controller.
type Options struct {
	// MetricsAddr is the Prometheus endpoint bind address.
	MetricsAddr string
	// HealthAddr is the healthz/readyz bind address.
	HealthAddr string
	// Concurrent is the number of workers per reconciler.
	Concurrent int
	// EventsAddr is where events are POSTed (notification-controller binds it instead).
	EventsAddr string
	// WatchAllNamespaces is false to watch only RUNTIME_NAMESPACE.
	WatchAllNamespaces bool
	// WatchLabelSelector shards the watched objects.
	WatchLabelSelector string
	// LeaderElection configures the lease.
	LeaderElection leaderelection.Options
	// Logger sets level and encoding.
	Logger logger.Options
	// Client sets the API QPS and burst.
	Client client.Options
	// RateLimiter sets the failure backoff.
	RateLimiter controller.RateLimiterOptions
	// Jitter spreads the requeue intervals.
	Jitter jitter.IntervalOptions
	// FeatureGates are the --feature-gates values, checked against
	// ControllerGates when the controller starts.
	FeatureGates map[string]bool
	// Kinds are the controller's own top-level kinds, the only ones
	// --watch-label-selector filters; set by the controller, not a flag.
	Kinds []ctrlclient.Object

	// config, when set (by tests), replaces the kubeconfig.
	config *rest.Config
}

// restConfig is the API server connection: the kubeconfig (--kubeconfig,
// KUBECONFIG, in-cluster) with --kube-api-qps/--kube-api-burst.
func (o *Options) restConfig() *rest.Config {
	if o.config != nil {
		return o.config
	}
	return client.GetConfigOrDie(o.Client)
}

// BindFlags registers the shared flags with Flux's names and defaults.
func (o *Options) BindFlags(fs *pflag.FlagSet, defaultConcurrent int, bindEventsAddr bool) {
	fs.StringVar(&o.MetricsAddr, "metrics-addr", ":8080", "The address the metric endpoint binds to.")
	fs.StringVar(&o.HealthAddr, "health-addr", ":9440", "The address the health endpoint binds to.")
	fs.IntVar(&o.Concurrent, "concurrent", defaultConcurrent, "The number of concurrent reconciles per kind.")
	if bindEventsAddr {
		fs.StringVar(&o.EventsAddr, "events-addr", "", "The address of the events receiver.")
	}
	fs.BoolVar(&o.WatchAllNamespaces, "watch-all-namespaces", true,
		"Watch for custom resources in all namespaces, if set to false it will only watch the runtime namespace.")
	fs.StringVar(&o.WatchLabelSelector, "watch-label-selector", "", "Watch for resources with matching labels e.g. 'sharding.fluxcd.io/key=shard1'.")
	o.LeaderElection.BindFlags(fs)
	o.Logger.BindFlags(fs)
	o.Client.BindFlags(fs)
	o.RateLimiter.BindFlags(fs)
	o.Jitter.BindFlagsWithDefault(fs, 5)
	fs.Var(cliflag.NewMapStringBool(&o.FeatureGates), "feature-gates",
		"A comma separated list of key=value pairs defining the state of experimental features, with Flux's names; gates gotk does not implement are refused.")
}

// SetClientDefaults replaces the defaults of --kube-api-qps and
// --kube-api-burst (Flux's 50 and 300) for a controller whose work is
// mostly API requests: at 50 QPS, 1000 Kustomizations of seven requests
// each take over two minutes however fast the API server answers. Call
// it after BindFlags and before parsing; the flags still override it.
func (o *Options) SetClientDefaults(fs *pflag.FlagSet, qps float32, burst int) {
	o.Client.QPS, o.Client.Burst = qps, burst
	if f := fs.Lookup("kube-api-qps"); f != nil {
		f.DefValue = strconv.FormatFloat(float64(qps), 'g', -1, 32)
	}
	if f := fs.Lookup("kube-api-burst"); f != nil {
		f.DefValue = strconv.Itoa(burst)
	}
}

// ControllerOptions are the reconciler settings the flags give every kind.
func (o *Options) ControllerOptions() reconcile.ControllerOptions {
	return reconcile.ControllerOptions{Concurrent: o.Concurrent, RateLimiter: o.RateLimiter}
}

// Validate checks the flag values a controller cannot start with.
func (o *Options) Validate() error {
	if o.Concurrent < 1 {
		return fmt.Errorf("--concurrent must be at least 1, got %d", o.Concurrent)
	}
	if _, err := labels.Parse(o.WatchLabelSelector); err != nil {
		return fmt.Errorf("--watch-label-selector: %w", err)
	}
	if r := o.RateLimiter; r.MinRetryDelay <= 0 || r.MaxRetryDelay < r.MinRetryDelay {
		return fmt.Errorf("--min-retry-delay (%s) must be positive and at most --max-retry-delay (%s)", r.MinRetryDelay, r.MaxRetryDelay)
	}
	if !o.WatchAllNamespaces && RuntimeNamespace() == "" {
		return fmt.Errorf("--watch-all-namespaces=false needs the RUNTIME_NAMESPACE environment variable")
	}
	return nil
}

// RuntimeNamespace is the namespace the controller runs in.
func RuntimeNamespace() string {
	return os.Getenv("RUNTIME_NAMESPACE")
}
