package cmd

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func newDeleteCommand(g *Globals) *cobra.Command {
	var silent bool
	cmd := &cobra.Command{
		Use:   "delete KIND NAME",
		Short: "Delete a gotk object (asks first unless --silent)",
		Long: "Delete a gotk object. Objects a Kustomization or HelmRelease applied are removed by its " +
			"controller as its finalizer runs (pruning), as in Flux.",
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, rest, err := kindArgs(args)
			if err != nil {
				return err
			}
			if len(rest) != 1 {
				return fmt.Errorf("name one %s to delete", k.Name())
			}
			key := client.ObjectKey{Namespace: g.Namespace, Name: rest[0]}
			c, err := g.Client()
			if err != nil {
				return err
			}
			obj := k.New()
			if err := c.Get(cmd.Context(), key, obj); err != nil {
				return fmt.Errorf("%s %s: %w", k.Name(), key, err)
			}
			if !silent {
				fmt.Fprintf(g.Out, "Are you sure you want to delete this %s? [y/N] ", k.Name())
				line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
					return fmt.Errorf("deletion of %s %s aborted", k.Name(), key)
				}
			}
			fmt.Fprintf(g.Out, "► deleting %s %s in %s namespace\n", k.Name(), key.Name, key.Namespace)
			if err := c.Delete(cmd.Context(), obj); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("deleting %s %s: %w", k.Name(), key, err)
			}
			fmt.Fprintf(g.Out, "✔ %s deleted\n", k.Name())
			return nil
		},
	}
	cmd.Flags().BoolVarP(&silent, "silent", "s", false, "delete without asking")
	return cmd
}
