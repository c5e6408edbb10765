package catalog

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/fluxcd/pkg/apis/meta"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/pkg/apis"
)

// List returns the objects of kind k: one by name, a namespace, or all namespaces.
func List(ctx context.Context, c client.Client, k Kind, ns string, all bool, name string) ([]client.Object, error) {
	if name != "" {
		obj := k.New()
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
			return nil, err
		}
		return []client.Object{obj}, nil
	}
	list := k.NewList()
	var opts []client.ListOption
	if !all {
		opts = append(opts, client.InNamespace(ns))
	}
	if err := c.List(ctx, list, opts...); err != nil {
		return nil, err
	}
	items, err := apimeta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]client.Object, 0, len(items))
	for _, it := range items {
		out = append(out, it.(client.Object))
	}
	return out, nil
}

// TableOptions say how WriteTable lays out the objects.
type TableOptions struct {
	// AllNamespaces adds the NAMESPACE column.
	AllNamespaces bool
	// PrefixKind writes names as kind/name (tables of several kinds).
	PrefixKind bool
	// NoHeader leaves out the header line (Flux's --no-header).
	NoHeader bool
}

// WriteTable prints NAME, REVISION, SUSPENDED, READY, MESSAGE (and
// NAMESPACE); SHARD too when some object carries a shard key.
func WriteTable(out io.Writer, k Kind, objs []client.Object, o TableOptions) {
	allNamespaces, prefixKind := o.AllNamespaces, o.PrefixKind
	if len(objs) == 0 {
		fmt.Fprintf(out, "no %s objects found\n", k.Name())
		return
	}
	sharded := slices.ContainsFunc(objs, func(o client.Object) bool {
		_, ok := o.GetLabels()[apis.ShardKeyLabel]
		return ok
	})
	tw := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
	header := "NAME\tREVISION\tSUSPENDED\tREADY\tMESSAGE"
	if sharded {
		header = "NAME\tSHARD\tREVISION\tSUSPENDED\tREADY\tMESSAGE"
	}
	if allNamespaces {
		header = "NAMESPACE\t" + header
	}
	if !o.NoHeader {
		fmt.Fprintln(tw, header)
	}
	for _, o := range objs {
		name := o.GetName()
		if prefixKind {
			name = strings.ToLower(k.GVK.Kind) + "/" + name
		}
		ready, message := readiness(o)
		cols := []string{name, k.Revision(o), fmt.Sprint(Suspended(o)), ready, message}
		if sharded {
			cols = slices.Insert(cols, 1, shardOf(o))
		}
		if allNamespaces {
			cols = slices.Insert(cols, 0, o.GetNamespace())
		}
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
	}
	_ = tw.Flush()
}

// readiness is the Ready condition's status and message, Unknown when absent.
func readiness(o client.Object) (string, string) {
	getter, ok := o.(meta.ObjectWithConditions)
	if !ok {
		return "-", ""
	}
	c := apimeta.FindStatusCondition(getter.GetConditions(), meta.ReadyCondition)
	if c == nil {
		return "Unknown", "waiting to be reconciled"
	}
	return string(c.Status), c.Message
}

// shardOf is the object's shard key, "-" for the main shard.
func shardOf(o client.Object) string {
	if key, ok := o.GetLabels()[apis.ShardKeyLabel]; ok {
		return key
	}
	return "-"
}
