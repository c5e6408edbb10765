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
	var all, wait bool
	use, short := "suspend KIND [NAME | --all]", "Stop reconciling objects until they are resumed"
	if !suspend {
		use, short = "resume KIND [NAME | --all]", "Resume reconciling suspended objects and wait until they are reconciled"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, rest, err := kindArgs(args)
			if err != nil {
				return err
			}
			var names []string
			switch {
			case all && len(rest) == 0:
				c, err := g.Client()
				if err != nil {
					return err
				}
				objs, err := catalog.List(cmd.Context(), c, k, g.Namespace, false, "")
				if err != nil {
					return err
				}
				for _, o := range objs {
					names = append(names, o.GetName())
				}
			case !all && len(rest) == 1:
				names = rest
			default:
				return fmt.Errorf("name one %s or pass --all", k.Name())
			}
			for _, name := range names {
				key := client.ObjectKey{Namespace: g.Namespace, Name: name}
				if err := setSuspend(cmd.Context(), g, k, key, suspend); err != nil {
					return err
				}
				if suspend {
					fmt.Fprintf(g.Out, "✔ %s %s suspended\n", k.Name(), key)
					continue
				}
				fmt.Fprintf(g.Out, "✔ %s %s resumed\n", k.Name(), key)
				if !k.Reconcilable || !wait {
					continue
				}
				if err := runReconcile(cmd.Context(), g, k, key, false); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "every object of the kind in the namespace")
	if !suspend {
		cmd.Flags().BoolVar(&wait, "wait", true, "wait until each resumed object is reconciled and Ready")
	}
	return cmd
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
