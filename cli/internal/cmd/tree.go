package cmd

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/catalog"
	helmv2 "gotk.dev/pkg/apis/helm/v2"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

func newTreeCommand(g *Globals) *cobra.Command {
	var compact bool
	cmd := &cobra.Command{
		Use:   "tree kustomization NAME",
		Short: "Show what a Kustomization applied, descending into nested Kustomizations and HelmReleases",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, rest, err := kindArgs(args)
			if err != nil {
				return err
			}
			if k.GVK.Kind != kustomizev1.KustomizationKind {
				return fmt.Errorf("tree works on kustomizations, not %s", k.Name())
			}
			c, err := g.Client()
			if err != nil {
				return err
			}
			root := catalog.InventoryEntry{Namespace: g.Namespace, Name: rest[0], Group: kustomizev1.GroupVersion.Group, Kind: kustomizev1.KustomizationKind}
			fmt.Fprintln(g.Out, root.String())
			return printTree(cmd.Context(), c, g.Out, root, "", map[string]bool{}, compact)
		},
	}
	cmd.Flags().BoolVar(&compact, "compact", false, "list only the toolkit's objects (Kustomizations, HelmReleases, sources, ...)")
	return cmd
}

// children lists what an applier object's inventory holds.
func children(ctx context.Context, c client.Client, e catalog.InventoryEntry) ([]catalog.InventoryEntry, error) {
	var ids []string
	key := client.ObjectKey{Namespace: e.Namespace, Name: e.Name}
	switch {
	case e.Group == kustomizev1.GroupVersion.Group && e.Kind == kustomizev1.KustomizationKind:
		ks := &kustomizev1.Kustomization{}
		if err := c.Get(ctx, key, ks); err != nil {
			return nil, err
		}
		if ks.Status.Inventory != nil {
			for _, r := range ks.Status.Inventory.Entries {
				ids = append(ids, r.ID)
			}
		}
	case e.Group == helmv2.GroupVersion.Group && e.Kind == helmv2.HelmReleaseKind:
		hr := &helmv2.HelmRelease{}
		if err := c.Get(ctx, key, hr); err != nil {
			return nil, err
		}
		if hr.Status.Inventory != nil {
			for _, r := range hr.Status.Inventory.Entries {
				ids = append(ids, r.ID)
			}
		}
	default:
		return nil, nil
	}
	var out []catalog.InventoryEntry
	for _, id := range ids {
		entry, err := catalog.ParseInventoryID(id)
		if err != nil {
			return nil, err
		}
		out = append(out, entry)
	}
	return out, nil
}

func printTree(ctx context.Context, c client.Client, out io.Writer, e catalog.InventoryEntry, indent string, visited map[string]bool, compact bool) error {
	if visited[e.String()] {
		return nil // a cycle in nested Kustomizations: print each once
	}
	visited[e.String()] = true
	kids, err := children(ctx, c, e)
	if err != nil {
		return fmt.Errorf("%s: %w", e, err)
	}
	if compact {
		kids = slices.DeleteFunc(kids, func(k catalog.InventoryEntry) bool { return !strings.HasSuffix(k.Group, ".toolkit.fluxcd.io") })
	}
	for i, kid := range kids {
		branch, next := "├── ", "│   "
		if i == len(kids)-1 {
			branch, next = "└── ", "    "
		}
		fmt.Fprintln(out, indent+branch+kid.String())
		if err := printTree(ctx, c, out, kid, indent+next, visited, compact); err != nil {
			return err
		}
	}
	return nil
}
