package cmd

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"gotk.dev/cli/internal/catalog"
)

func newExportCommand(g *Globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "export KIND [NAME]",
		Short: "Print objects as clean YAML (no status, no server fields) to commit to Git",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, rest, err := kindArgs(args)
			if err != nil {
				return err
			}
			if len(rest) == 0 && !all {
				return fmt.Errorf("name a %s or pass --all", k.Name())
			}
			name := ""
			if len(rest) > 0 {
				name = rest[0]
			}
			c, err := g.Client()
			if err != nil {
				return err
			}
			objs, err := catalog.List(cmd.Context(), c, k, g.Namespace, false, name)
			if err != nil {
				return err
			}
			for _, o := range objs {
				data, err := exportYAML(k, o)
				if err != nil {
					return err
				}
				fmt.Fprintf(g.Out, "---\n%s", data)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "export every object of the kind in the namespace")
	return cmd
}

// exportYAML keeps apiVersion, kind, name, namespace, labels, annotations
// (minus the reconcile request) and spec.
func exportYAML(k catalog.Kind, o client.Object) ([]byte, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, err
	}
	md := map[string]any{"name": o.GetName(), "namespace": o.GetNamespace()}
	if l := o.GetLabels(); len(l) > 0 {
		md["labels"] = l
	}
	ann := map[string]string{}
	for key, v := range o.GetAnnotations() {
		if key != "reconcile.fluxcd.io/requestedAt" && key != "kubectl.kubernetes.io/last-applied-configuration" {
			ann[key] = v
		}
	}
	if len(ann) > 0 {
		md["annotations"] = ann
	}
	out := map[string]any{"apiVersion": k.GVK.GroupVersion().String(), "kind": k.GVK.Kind, "metadata": md, "spec": m["spec"]}
	return yaml.Marshal(out)
}
