package cmd

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/spf13/cobra"
	apimeta "k8s.io/apimachinery/pkg/api/meta"

	"gotk.dev/cli/internal/catalog"
)

func newStatsCommand(g *Globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Count the reconcilers of each kind: running, failing, suspended, and the storage their artifacts use",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return writeStats(cmd.Context(), g, all)
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "count across all namespaces")
	return cmd
}

// writeStats prints Flux's stats table: a row per kind with RUNNING (not
// suspended), FAILING (Ready=False), SUSPENDED and STORAGE (artifact sizes).
func writeStats(ctx context.Context, g *Globals, all bool) error {
	c, err := g.Client()
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(g.Out, 0, 0, 3, ' ', 0)
	fmt.Fprintln(w, "RECONCILERS\tRUNNING\tFAILING\tSUSPENDED\tSTORAGE")
	for _, k := range catalog.All {
		objs, err := catalog.List(ctx, c, k, g.Namespace, all, "")
		if err != nil {
			if apimeta.IsNoMatchError(err) {
				continue
			}
			return fmt.Errorf("listing %s: %w", k.Name(), err)
		}
		var running, failing, suspended int
		var size int64
		sized := false
		for _, o := range objs {
			if catalog.Suspended(o) {
				suspended++
			} else {
				running++
			}
			if getter, ok := o.(conditions.Getter); ok && conditions.IsFalse(getter, meta.ReadyCondition) {
				failing++
			}
			if a, ok := o.(interface{ GetArtifact() *meta.Artifact }); ok {
				sized = true
				if art := a.GetArtifact(); art != nil && art.Size != nil {
					size += *art.Size
				}
			}
		}
		storage := "-"
		if sized {
			storage = byteSize(size)
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%s\n", k.GVK.Kind, running, failing, suspended, storage)
	}
	return w.Flush()
}

// byteSize writes n in binary units (1.5 KiB), as Flux's stats does.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
