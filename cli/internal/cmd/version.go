package cmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/install"
	"gotk.dev/pkg/version"
)

func newVersionCommand(g *Globals) *cobra.Command {
	var clientOnly bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the gotk version of the CLI and of the controllers in the cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(g.Out, "gotk: %s\n", version.Version)
			if clientOnly {
				return nil
			}
			return printServerVersions(cmd.Context(), g)
		},
	}
	cmd.Flags().BoolVar(&clientOnly, "client", false, "print only the CLI's version, without asking the cluster")
	return cmd
}

// printServerVersions prints each installed controller's image tag, as
// Flux prints its controllers' versions.
func printServerVersions(ctx context.Context, g *Globals) error {
	c, err := g.Client()
	if err != nil {
		return err
	}
	found := 0
	for _, name := range install.Components {
		dep := &appsv1.Deployment{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: g.Namespace, Name: name}, dep); err != nil {
			if client.IgnoreNotFound(err) == nil {
				continue
			}
			return fmt.Errorf("reading the controllers in namespace %s: %w (use --client for the CLI's version alone)", g.Namespace, err)
		}
		if cs := dep.Spec.Template.Spec.Containers; len(cs) > 0 {
			image := cs[0].Image
			tag := image[strings.LastIndex(image, ":")+1:]
			fmt.Fprintf(g.Out, "%s: %s\n", name, tag)
			found++
		}
	}
	if found == 0 {
		fmt.Fprintf(g.Out, "no gotk controllers in namespace %s\n", g.Namespace)
	}
	return nil
}
