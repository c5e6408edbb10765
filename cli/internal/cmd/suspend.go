package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/catalog"
)

// newSuspendCommand returns `suspend` (suspend=true) or `resume`.
func newSuspendCommand(g *Globals, suspend bool) *cobra.Command {
	use, short := "suspend KIND NAME", "Stop reconciling an object until it is resumed"
	if !suspend {
		use, short = "resume KIND NAME", "Resume reconciling a suspended object and wait until it is reconciled"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, rest, err := kindArgs(args)
			if err != nil {
				return err
			}
			if len(rest) != 1 {
				return fmt.Errorf("name one %s", k.Name())
			}
			key := client.ObjectKey{Namespace: g.Namespace, Name: rest[0]}
			if err := setSuspend(cmd.Context(), g, k, key, suspend); err != nil {
				return err
			}
			if suspend {
				fmt.Fprintf(g.Out, "✔ %s %s suspended\n", k.Name(), key)
				return nil
			}
			fmt.Fprintf(g.Out, "✔ %s %s resumed\n", k.Name(), key)
			if !k.Reconcilable {
				return nil
			}
			return runReconcile(cmd.Context(), g, k, key, false)
		},
	}
}

func setSuspend(ctx context.Context, g *Globals, k catalog.Kind, key client.ObjectKey, suspend bool) error {
	c, err := g.Client()
	if err != nil {
		return err
	}
	obj := k.New()
	if err := c.Get(ctx, key, obj); err != nil {
		return fmt.Errorf("%s %s: %w", k.Name(), key, err)
	}
	return catalog.SetSuspend(ctx, c, obj, suspend)
}
