package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/helm/values"
	"gotk.dev/pkg/kustomize"
)

func newDebugCommand(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "debug", Short: "Show what a Kustomization or HelmRelease works with: status, variables, history"}
	cmd.AddCommand(newDebugKustomization(g), newDebugHelmRelease(g))
	return cmd
}

// printYAML writes v as YAML (nothing for an empty value).
func printYAML(g *Globals, v any) error {
	data, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	_, err = g.Out.Write(data)
	return err
}

func newDebugKustomization(g *Globals) *cobra.Command {
	var status, vars, history bool
	cmd := &cobra.Command{
		Use:     "kustomization NAME (--show-status | --show-vars | --show-history)",
		Aliases: []string{"ks"},
		Short:   "Show a Kustomization's status, its post-build variables or its history",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if n := countTrue(status, vars, history); n != 1 {
				return errors.New("give exactly one of --show-status, --show-vars, --show-history")
			}
			c, err := g.Client()
			if err != nil {
				return err
			}
			var ks kustomizev1.Kustomization
			if err := c.Get(cmd.Context(), client.ObjectKey{Namespace: g.Namespace, Name: args[0]}, &ks); err != nil {
				return fmt.Errorf("kustomization %s: %w", args[0], err)
			}
			switch {
			case status:
				return printYAML(g, ks.Status)
			case history:
				return printYAML(g, ks.Status.History)
			}
			if ks.Spec.PostBuild == nil {
				return nil
			}
			// The controller's own reading of substitute and substituteFrom.
			vs, err := kustomize.Variables(cmd.Context(), c, ks.Namespace, ks.Spec.PostBuild)
			if err != nil {
				return err
			}
			keys := make([]string, 0, len(vs))
			for k := range vs {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				fmt.Fprintf(g.Out, "%s=%s\n", k, vs[k])
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&status, "show-status", false, "print the status")
	cmd.Flags().BoolVar(&vars, "show-vars", false, "print the post-build variables as KEY=value, sorted")
	cmd.Flags().BoolVar(&history, "show-history", false, "print the reconciliation history")
	return cmd
}

func newDebugHelmRelease(g *Globals) *cobra.Command {
	var status, history, showValues bool
	cmd := &cobra.Command{
		Use:     "helmrelease NAME (--show-status | --show-values | --show-history)",
		Aliases: []string{"hr"},
		Short:   "Show a HelmRelease's status, its merged values or its release history",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if n := countTrue(status, history, showValues); n != 1 {
				return errors.New("give exactly one of --show-status, --show-values, --show-history")
			}
			c, err := g.Client()
			if err != nil {
				return err
			}
			var hr helmv2.HelmRelease
			if err := c.Get(cmd.Context(), client.ObjectKey{Namespace: g.Namespace, Name: args[0]}, &hr); err != nil {
				return fmt.Errorf("helmrelease %s: %w", args[0], err)
			}
			switch {
			case status:
				return printYAML(g, hr.Status)
			case history:
				return printYAML(g, hr.Status.History)
			}
			var inline map[string]any
			if v := hr.Spec.Values; v != nil && len(v.Raw) > 0 {
				if err := json.Unmarshal(v.Raw, &inline); err != nil {
					return fmt.Errorf("helmrelease %s: spec.values is not a map: %w", args[0], err)
				}
			}
			// The controller's own merge of valuesFrom and values.
			merged, err := values.Compose(cmd.Context(), c, hr.Namespace, hr.Spec.ValuesFrom, inline)
			if err != nil {
				return err
			}
			return printYAML(g, merged)
		},
	}
	cmd.Flags().BoolVar(&status, "show-status", false, "print the status")
	cmd.Flags().BoolVar(&showValues, "show-values", false, "print the values the release is installed with: valuesFrom merged in order, then values")
	cmd.Flags().BoolVar(&history, "show-history", false, "print the Helm release history (snapshots)")
	return cmd
}

func countTrue(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
