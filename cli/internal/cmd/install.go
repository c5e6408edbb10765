package cmd

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/install"
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
	objs, err := install.Objects(opts)
	if err != nil {
		return err
	}
	c, err := g.Client()
	if err != nil {
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
