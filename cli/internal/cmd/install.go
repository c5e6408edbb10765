package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/install"
)

// installFlags are shared by install and (later) bootstrap.
type installFlags struct {
	opts   install.Options
	export bool
}

func (f *installFlags) bind(cmd *cobra.Command) {
	f.opts = install.DefaultOptions()
	fs := cmd.Flags()
	fs.StringSliceVar(&f.opts.Components, "components", install.Components, "controllers to install")
	fs.BoolVar(&f.opts.WatchAllNamespaces, "watch-all-namespaces", true, "watch objects in all namespaces, not only the install namespace")
	fs.BoolVar(&f.opts.NetworkPolicy, "network-policy", true, "deny ingress to the controllers from other namespaces")
	fs.StringVar(&f.opts.Registry, "registry", "", "container registry the controller images are pulled from")
	fs.StringVar(&f.opts.ImageTag, "image-tag", "", "tag of the controller images (default: this version)")
}

func newInstallCommand(g *Globals) *cobra.Command {
	f := &installFlags{}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install gotk's CRDs and controllers in the cluster, or print them with --export",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.export {
				data, err := install.Render(f.opts)
				if err != nil {
					return err
				}
				_, err = g.Out.Write(data)
				return err
			}
			return runInstall(cmd.Context(), g, f.opts)
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
	for _, name := range opts.Components {
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
