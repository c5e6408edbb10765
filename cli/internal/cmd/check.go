package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/Masterminds/semver/v3"
	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/install"
)

// minKubernetes is the oldest API server gotk supports (as Flux 2.9).
const minKubernetes = ">=1.33.0-0"

func newCheckCommand(g *Globals) *cobra.Command {
	var pre bool
	var components, extra []string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check the cluster meets gotk's requirements (--pre) and the install is healthy",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			selected, err := install.SelectComponents(components, extra)
			if err != nil {
				return err
			}
			return runCheck(cmd.Context(), g, pre, selected)
		},
	}
	cmd.Flags().BoolVar(&pre, "pre", false, "only check the prerequisites, before installing")
	cmd.Flags().StringSliceVar(&components, "components", install.Components, "controllers to check (Flux's names are accepted, as by install)")
	cmd.Flags().StringSliceVar(&extra, "components-extra", nil, "controllers to check in addition to --components")
	return cmd
}

func runCheck(ctx context.Context, g *Globals, pre bool, components []string) error {
	cfg, err := g.RESTConfig()
	if err != nil {
		return err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	info, err := dc.ServerVersion()
	if err != nil {
		return fmt.Errorf("cluster not reachable: %w", err)
	}
	v, err := semver.NewVersion(info.GitVersion)
	if err != nil {
		return fmt.Errorf("cannot parse the API server version %q: %w", info.GitVersion, err)
	}
	constraint, _ := semver.NewConstraint(minKubernetes)
	if !constraint.Check(v) {
		return fmt.Errorf("Kubernetes %s does not match %s", info.GitVersion, minKubernetes)
	}
	fmt.Fprintf(g.Out, "✔ Kubernetes %s %s\n", info.GitVersion, minKubernetes)
	if pre {
		fmt.Fprintln(g.Out, "✔ prerequisites checks passed")
		return nil
	}

	c, err := g.Client()
	if err != nil {
		return err
	}
	var problems []error
	opts := install.DefaultOptions()
	opts.Components = components
	objs, err := install.Objects(opts)
	if err != nil {
		return err
	}
	for _, obj := range objs {
		switch obj.GetKind() {
		case "CustomResourceDefinition":
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := c.Get(ctx, client.ObjectKey{Name: obj.GetName()}, crd); err != nil {
				problems = append(problems, fmt.Errorf("CRD %s: %w", obj.GetName(), err))
				continue
			}
			fmt.Fprintf(g.Out, "✔ %s\n", obj.GetName())
		case "Deployment":
			dep := &appsv1.Deployment{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: g.Namespace, Name: obj.GetName()}, dep); err != nil {
				problems = append(problems, fmt.Errorf("%s: %w", obj.GetName(), err))
				continue
			}
			if dep.Status.AvailableReplicas < 1 {
				problems = append(problems, fmt.Errorf("%s: no replica available", obj.GetName()))
				continue
			}
			fmt.Fprintf(g.Out, "✔ %s: deployment ready\n", obj.GetName())
		}
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(g.Out, "✗ %v\n", p)
		}
		return errors.New("check failed")
	}
	fmt.Fprintln(g.Out, "✔ all checks passed")
	return nil
}
