package cmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/spf13/cobra"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/catalog"
)

type getFlags struct {
	allNamespaces  bool
	watch          bool
	statusSelector string
	noHeader       bool
}

func newGetCommand(g *Globals) *cobra.Command {
	f := &getFlags{}
	cmd := &cobra.Command{
		Use:   "get KIND [NAME]",
		Short: "List gotk objects with their revision and readiness",
		Long: "List gotk objects. KIND is one of: " + strings.Join(catalog.Names(), ", ") +
			", or `all` / `sources all`.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			selected, name, err := getSelection(args)
			if err != nil {
				return err
			}
			for {
				if err := printTables(cmd.Context(), g, f, selected, name); err != nil {
					return err
				}
				if !f.watch {
					return nil
				}
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(2 * time.Second):
					fmt.Fprintln(g.Out)
				}
			}
		},
	}
	cmd.Flags().BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "list across all namespaces")
	cmd.Flags().BoolVarP(&f.watch, "watch", "w", false, "print the table again every 2s until interrupted")
	cmd.Flags().StringVar(&f.statusSelector, "status-selector", "", "only objects whose condition matches, e.g. ready=false")
	cmd.Flags().BoolVar(&f.noHeader, "no-header", false, "leave out the header line")
	return cmd
}

// getSelection turns `all`, `sources all`, `source git` or `ks NAME` into kinds and an optional name.
func getSelection(args []string) ([]catalog.Kind, string, error) {
	switch strings.Join(args, " ") {
	case "all":
		return catalog.All, "", nil
	case "sources all", "source all", "sources":
		var out []catalog.Kind
		for _, k := range catalog.All {
			if k.Words[0] == "source" {
				out = append(out, k)
			}
		}
		return out, "", nil
	}
	k, rest, err := kindArgs(args)
	if err != nil {
		return nil, "", err
	}
	if len(rest) > 1 {
		return nil, "", fmt.Errorf("unexpected arguments %v", rest[1:])
	}
	name := ""
	if len(rest) == 1 {
		name = rest[0]
	}
	return []catalog.Kind{k}, name, nil
}

func printTables(ctx context.Context, g *Globals, f *getFlags, selected []catalog.Kind, name string) error {
	c, err := g.Client()
	if err != nil {
		return err
	}
	for i, k := range selected {
		objs, err := catalog.List(ctx, c, k, g.Namespace, f.allNamespaces, name)
		if err != nil {
			if apimeta.IsNoMatchError(err) && len(selected) > 1 {
				continue
			}
			return fmt.Errorf("listing %s: %w", k.Name(), err)
		}
		objs = filterStatus(objs, f.statusSelector)
		if len(selected) > 1 && len(objs) == 0 {
			continue
		}
		if i > 0 && len(selected) > 1 {
			fmt.Fprintln(g.Out)
		}
		catalog.WriteTable(g.Out, k, objs, catalog.TableOptions{AllNamespaces: f.allNamespaces, PrefixKind: len(selected) > 1, NoHeader: f.noHeader})
	}
	return nil
}

// filterStatus keeps objects whose condition matches `type=status` (case-insensitive).
func filterStatus(objs []client.Object, selector string) []client.Object {
	if selector == "" {
		return objs
	}
	typ, want, _ := strings.Cut(selector, "=")
	var out []client.Object
	for _, o := range objs {
		if getter, ok := o.(conditions.Getter); ok {
			for _, c := range getter.GetConditions() {
				if strings.EqualFold(c.Type, typ) && strings.EqualFold(string(c.Status), want) {
					out = append(out, o)
				}
			}
		}
	}
	return out
}
