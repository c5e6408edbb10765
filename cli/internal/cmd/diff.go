package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/drift"
)

// ExitCodeError makes the CLI exit with Code (diff: 1 means differences).
type ExitCodeError struct {
	Code int
	Msg  string
}

func (e *ExitCodeError) Error() string { return e.Msg }

func newDiffCommand(g *Globals) *cobra.Command {
	f := &buildFlags{}
	root := &cobra.Command{Use: "diff", Short: "Show what applying local manifests would change in the cluster"}
	cmd := &cobra.Command{
		Use:   "kustomization NAME --path DIR",
		Short: "Build locally and compare with the cluster by server-side dry-run (exit 0: no change, 1: changes, >1: error)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			objs, _, err := buildLocal(cmd.Context(), g, f, args[0])
			if err != nil {
				return err
			}
			c, err := g.Client()
			if err != nil {
				return err
			}
			changed, err := diffObjects(cmd.Context(), g, c, objs)
			if err != nil {
				return err
			}
			if changed > 0 {
				return &ExitCodeError{Code: 1, Msg: fmt.Sprintf("%d objects would change", changed)}
			}
			return nil
		},
	}
	f.bind(cmd)
	root.AddCommand(cmd, newDiffArtifact(g))
	return root
}

// diffObjects prints what applying objs would create or configure.
func diffObjects(ctx context.Context, g *Globals, c client.Client, objs []*unstructured.Unstructured) (int, error) {
	changes, err := drift.Compare(ctx, c, objs, "local")
	for _, ch := range changes {
		fmt.Fprintf(g.Out, "► %s %s\n", ch.Ref, ch.Action)
		fmt.Fprint(g.Out, ch.Diff)
	}
	return len(changes), err
}
