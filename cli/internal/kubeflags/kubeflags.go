// Package kubeflags holds the cluster flags every gotk command shares
// (--kubeconfig, --context, --namespace, --timeout) and turns them into a
// REST config, for the gotk command and the gotk-ui server alike.
package kubeflags

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Flags are the values of the shared cluster flags.
type Flags struct {
	Kubeconfig string
	Context    string
	Namespace  string
	Timeout    time.Duration
}

// AddFlags registers the shared flags on fs (a command's persistent flags).
func (f *Flags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.Kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&f.Context, "context", "", "kubeconfig context to use")
	fs.StringVarP(&f.Namespace, "namespace", "n", "flux-system", "namespace of the objects")
	fs.DurationVar(&f.Timeout, "timeout", 5*time.Minute, "how long to wait for an operation")
}

// RESTConfig loads the kubeconfig the flags (or KUBECONFIG) point at.
func (f *Flags) RESTConfig() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if f.Kubeconfig != "" {
		rules.ExplicitPath = f.Kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: f.Context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("no cluster to talk to: %w (set --kubeconfig or KUBECONFIG)", err)
	}
	cfg.Timeout = f.Timeout
	// client-go's default of 5 requests a second makes a command that
	// touches every object (migrate, the takeover) take minutes; these
	// are kubectl's limits.
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 300
	}
	return cfg, nil
}
