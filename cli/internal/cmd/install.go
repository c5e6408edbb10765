package cmd

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/install"
	"gotk.dev/cli/internal/takeover"
	"gotk.dev/pkg/version"
)

// installFlags are shared by install and bootstrap.
type installFlags struct {
	opts       install.Options
	components []string
	extra      []string
	version    string
	export     bool
}

func (f *installFlags) bind(cmd *cobra.Command) {
	f.opts = install.DefaultOptions()
	fs := cmd.Flags()
	fs.StringSliceVar(&f.components, "components", install.Components,
		"controllers to install (Flux's image-reflector-controller and source-watcher name the gotk controller that does their job)")
	fs.StringSliceVar(&f.extra, "components-extra", nil,
		"controllers to install in addition to --components, e.g. Flux's image-reflector-controller,image-automation-controller; source-watcher is accepted and installs nothing more, since source-controller serves ArtifactGenerator")
	fs.BoolVar(&f.opts.WatchAllNamespaces, "watch-all-namespaces", true, "watch objects in all namespaces, not only the install namespace")
	fs.BoolVar(&f.opts.MultiTenant, "multi-tenant", false,
		"lock the controllers down for multi-tenancy: --no-cross-namespace-refs=true, and --default-service-account=default on kustomize- and helm-controller")
	fs.BoolVar(&f.opts.NetworkPolicy, "network-policy", true, "deny ingress to the controllers from other namespaces")
	fs.StringVar(&f.opts.Registry, "registry", "", "container registry the controller images are pulled from (default "+version.Registry+")")
	fs.StringVar(&f.opts.ImageTag, "image-tag", "", "tag of the controller images (default "+version.Version+")")
	fs.StringSliceVar(&f.opts.Shards, "shards", nil, "shard names: source, kustomize and helm controllers get a Deployment <controller>-<shard> each, watching objects labelled sharding.fluxcd.io/key=<shard>")
	fs.StringSliceVar(&f.opts.UITrustedProxies, "ui-trusted-proxy-cidr", nil,
		"with --components-extra ui: networks of the authenticating reverse proxy whose X-Forwarded-User/-Groups the UI impersonates (default: the UI is read-only)")
	fs.StringSliceVar(&f.opts.UIAPIServerCIDRs, "ui-apiserver-cidr", nil,
		"with --components-extra ui: the API server's addresses, admitted to source-controller's artifact port for the UI's drift view (default: the kubernetes Service's endpoints)")
	fs.StringSliceVar(&f.opts.UIPublicURLs, "ui-public-url", nil,
		"with --components-extra ui: URLs people open the UI at through a proxy that rewrites the Host header (accepted as the Origin of actions)")
	fs.BoolVar(&f.opts.Takeover, "takeover", false,
		"when Flux's controllers run in the namespace: stop them, migrate Flux's objects to the API versions gotk serves and start gotk's controllers in their place; they adopt Flux's inventories and Helm releases without re-applying, pruning or upgrading anything")
	fs.StringVar(&f.opts.ClusterDomain, "cluster-domain", install.DefaultClusterDomain, "internal cluster domain")
	fs.StringVar(&f.opts.LogLevel, "log-level", "info", "log level of the controllers: "+strings.Join(install.LogLevels, ", "))
	fs.StringVar(&f.opts.ImagePullSecret, "image-pull-secret", "", "Secret (in the install namespace) the controller pods pull their images with")
	fs.StringSliceVar(&f.opts.TolerationKeys, "toleration-keys", nil, "taint keys the controller pods tolerate (operator Exists)")
	fs.StringVarP(&f.version, "version", "v", "", "gotk version to install: the image tag, 1.2.3 meaning v1.2.3 as in Flux (same as --image-tag; if both are set they must agree)")
}

// tagPattern is the OCI distribution spec's tag grammar.
var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

// options resolves the flags: component names (with Flux's) and the image
// tag from --version or --image-tag.
func (f *installFlags) options() (install.Options, error) {
	o := f.opts
	var err error
	if o.Components, err = install.SelectComponents(f.components, f.extra); err != nil {
		return o, err
	}
	tag := f.version
	if tag != "" && tag[0] >= '0' && tag[0] <= '9' {
		tag = "v" + tag // Flux takes 2.7.0 for the release tagged v2.7.0
	}
	switch {
	case tag == "":
	case o.ImageTag != "" && o.ImageTag != tag:
		return o, fmt.Errorf("--version %s and --image-tag %s disagree: set one of them", f.version, o.ImageTag)
	default:
		o.ImageTag = tag
	}
	if o.ImageTag != "" && !tagPattern.MatchString(o.ImageTag) {
		return o, fmt.Errorf("image tag %q is not a valid tag (letters, digits, _ . -; at most 128)", o.ImageTag)
	}
	return o, nil
}

func newInstallCommand(g *Globals) *cobra.Command {
	f := &installFlags{}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install gotk's CRDs and controllers in the cluster, or print them with --export",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := f.options()
			if err != nil {
				return err
			}
			if f.export {
				data, err := install.Render(opts)
				if err != nil {
					return err
				}
				_, err = g.Out.Write(data)
				return err
			}
			return runInstall(cmd.Context(), g, opts)
		},
	}
	f.bind(cmd)
	cmd.Flags().BoolVar(&f.export, "export", false, "print the manifests instead of applying them")
	return cmd
}

func runInstall(ctx context.Context, g *Globals, opts install.Options) error {
	c, err := g.Client()
	if err != nil {
		return err
	}
	if slices.Contains(opts.Components, install.UI) && opts.NetworkPolicy && len(opts.UIAPIServerCIDRs) == 0 {
		opts.UIAPIServerCIDRs = apiServerCIDRs(ctx, c)
		if len(opts.UIAPIServerCIDRs) == 0 {
			fmt.Fprintln(g.Out, "⚠ the API server's addresses are unknown: no NetworkPolicy admits the UI's artifact proxy (set --ui-apiserver-cidr)")
		}
	}
	objs, err := install.Objects(opts)
	if err != nil {
		return err
	}
	if err := g.beforeInstall(opts)(ctx, c); err != nil {
		return err
	}
	fmt.Fprintf(g.Out, "► applying %d objects\n", len(objs))
	if err := install.Apply(ctx, c, objs); err != nil {
		return err
	}
	fmt.Fprintln(g.Out, "✔ components applied")
	if !opts.Workloads {
		return nil
	}
	for _, name := range opts.Deployments() {
		if err := waitAvailable(ctx, c, g.Namespace, name, g.Timeout); err != nil {
			return err
		}
		fmt.Fprintf(g.Out, "✔ %s: deployment ready\n", name)
	}
	fmt.Fprintln(g.Out, "✔ install finished")
	return nil
}

// apiServerCIDRs reads the API server's addresses from the endpoints of
// the kubernetes Service (none if they cannot be read).
func apiServerCIDRs(ctx context.Context, c client.Client) []string {
	var l discoveryv1.EndpointSliceList
	if err := c.List(ctx, &l, client.InNamespace(metav1.NamespaceDefault),
		client.MatchingLabels{discoveryv1.LabelServiceName: "kubernetes"}); err != nil {
		return nil
	}
	var addrs []string
	for _, s := range l.Items {
		for _, e := range s.Endpoints {
			addrs = append(addrs, e.Addresses...)
		}
	}
	return install.APIServerCIDRs(addrs)
}

// beforeInstall refuses an install over Flux's running controllers
// without --takeover, and with it prepares their takeover.
func (g *Globals) beforeInstall(opts install.Options) func(ctx context.Context, c client.Client) error {
	return func(ctx context.Context, c client.Client) error {
		flux, err := takeover.Check(ctx, c, g.Namespace, opts.Takeover)
		if err != nil || flux == nil {
			return err
		}
		cfg, err := g.RESTConfig()
		if err != nil {
			return err
		}
		d, err := discovery.NewDiscoveryClientForConfig(cfg)
		if err != nil {
			return err
		}
		fmt.Fprintf(g.Out, "► taking over from Flux: %s\n", strings.Join(flux.Names(), ", "))
		r, err := takeover.Prepare(ctx, c, d, flux, g.Timeout, g.Out)
		if err != nil {
			return fmt.Errorf("taking over from Flux: %w", err)
		}
		fmt.Fprintf(g.Out, "✔ Flux stopped in %s; its objects migrated and %d HelmReleases re-baselined in %s\n",
			r.StopTime.Round(time.Millisecond), r.Rebaselined, r.MigrateTime.Round(time.Millisecond))
		return nil
	}
}

func waitAvailable(ctx context.Context, c client.Client, ns, name string, timeout time.Duration) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		dep := &appsv1.Deployment{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, dep); err != nil {
			last = err.Error()
			return false, nil
		}
		want := int32(1)
		if dep.Spec.Replicas != nil {
			want = *dep.Spec.Replicas
		}
		last = fmt.Sprintf("%d of %d replicas available", dep.Status.AvailableReplicas, want)
		return dep.Status.ObservedGeneration >= dep.Generation && dep.Status.AvailableReplicas >= want, nil
	})
	if err != nil {
		return fmt.Errorf("%s not ready within %s: %s", name, timeout, last)
	}
	return nil
}
