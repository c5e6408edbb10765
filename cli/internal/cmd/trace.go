package cmd

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/catalog"
	helmv2 "gotk.dev/pkg/apis/helm/v2"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

func newTraceCommand(g *Globals) *cobra.Command {
	var kind, apiVersion string
	cmd := &cobra.Command{
		Use:   "trace NAME --kind KIND --api-version GROUP/VERSION",
		Short: "Show which Kustomization or HelmRelease applied an object, from which source and revision",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			gv, err := schema.ParseGroupVersion(apiVersion)
			if err != nil {
				return fmt.Errorf("--api-version: %w", err)
			}
			c, err := g.Client()
			if err != nil {
				return err
			}
			return runTrace(cmd.Context(), g, c, gv.WithKind(kind), client.ObjectKey{Namespace: g.Namespace, Name: args[0]})
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "Deployment", "kind of the object")
	cmd.Flags().StringVar(&apiVersion, "api-version", "apps/v1", "API version of the object")
	return cmd
}

func runTrace(ctx context.Context, g *Globals, c client.Client, gvk schema.GroupVersionKind, key client.ObjectKey) error {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(gvk)
	if err := c.Get(ctx, key, obj); err != nil {
		if key.Namespace != "" {
			// Cluster-scoped objects have no namespace.
			if err2 := c.Get(ctx, client.ObjectKey{Name: key.Name}, obj); err2 == nil {
				return traceOwners(ctx, g, c, obj)
			}
		}
		return fmt.Errorf("%s %s: %w", gvk.Kind, key, err)
	}
	return traceOwners(ctx, g, c, obj)
}

func traceOwners(ctx context.Context, g *Globals, c client.Client, obj *unstructured.Unstructured) error {
	labels := obj.GetLabels()
	tw := tabwriter.NewWriter(g.Out, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintf(tw, "Object:\t%s/%s\n", obj.GetKind(), obj.GetName())
	if obj.GetNamespace() != "" {
		fmt.Fprintf(tw, "Namespace:\t%s\n", obj.GetNamespace())
	}
	var applier catalog.Kind
	var key client.ObjectKey
	switch {
	case labels["kustomize.toolkit.fluxcd.io/name"] != "":
		applier, _ = catalog.ByKind(kustomizev1.KustomizationKind)
		key = client.ObjectKey{Namespace: labels["kustomize.toolkit.fluxcd.io/namespace"], Name: labels["kustomize.toolkit.fluxcd.io/name"]}
	case labels["helm.toolkit.fluxcd.io/name"] != "":
		applier, _ = catalog.ByKind(helmv2.HelmReleaseKind)
		key = client.ObjectKey{Namespace: labels["helm.toolkit.fluxcd.io/namespace"], Name: labels["helm.toolkit.fluxcd.io/name"]}
	default:
		return fmt.Errorf("%s/%s was not applied by gotk (no kustomize.toolkit.fluxcd.io or helm.toolkit.fluxcd.io owner labels)",
			obj.GetKind(), obj.GetName())
	}
	owner := applier.New()
	if err := c.Get(ctx, key, owner); err != nil {
		return fmt.Errorf("%s %s that applied it: %w", applier.GVK.Kind, key, err)
	}
	fmt.Fprintf(tw, "\n%s:\t%s\nNamespace:\t%s\nRevision:\t%s\nStatus:\t%s\n", applier.GVK.Kind, key.Name, key.Namespace,
		applier.Revision(owner), statusLine(owner))
	if applier.Source == nil {
		return nil
	}
	srcKind, ns, name, ok := applier.Source(owner)
	if !ok {
		return nil
	}
	sk, err := catalog.ByKind(srcKind)
	if err != nil {
		return err
	}
	src := sk.New()
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, src); err != nil {
		return fmt.Errorf("%s %s/%s: %w", srcKind, ns, name, err)
	}
	fmt.Fprintf(tw, "\n%s:\t%s\nNamespace:\t%s\nRevision:\t%s\nStatus:\t%s\n", srcKind, name, ns, sk.Revision(src), statusLine(src))
	return nil
}

func statusLine(o client.Object) string {
	getter, ok := o.(conditions.Getter)
	if !ok {
		return "-"
	}
	if c := conditions.Get(getter, meta.ReadyCondition); c != nil {
		return fmt.Sprintf("%s (%s) %s", c.Status, c.Reason, c.Message)
	}
	return "Unknown (not reconciled yet)"
}
