package cmd

import (
	"context"
	"fmt"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"gotk.dev/cli/internal/secretmask"
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

// diffObjects dry-runs each object as kustomize-controller would apply it
// and prints what would be created or how it would be configured.
func diffObjects(ctx context.Context, g *Globals, c client.Client, objs []*unstructured.Unstructured) (int, error) {
	changed := 0
	for _, obj := range objs {
		ref := fmt.Sprintf("%s/%s", obj.GetKind(), obj.GetName())
		if obj.GetNamespace() != "" {
			ref = fmt.Sprintf("%s/%s/%s", obj.GetKind(), obj.GetNamespace(), obj.GetName())
		}
		live, dry, err := liveAndDryRun(ctx, c, obj)
		if apierrors.IsNotFound(err) {
			fmt.Fprintf(g.Out, "► %s created\n", ref)
			changed++
			continue
		}
		if err != nil {
			return changed, fmt.Errorf("%s: %w", ref, err)
		}
		// Secret values never reach the terminal: only which keys change.
		secretmask.Mask(live, dry)
		before, after := comparable(live), comparable(dry)
		if before == after {
			continue
		}
		changed++
		fmt.Fprintf(g.Out, "► %s configured\n", ref)
		diff, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: difflib.SplitLines(before), B: difflib.SplitLines(after), FromFile: "cluster", ToFile: "local", Context: 2,
		})
		fmt.Fprint(g.Out, diff)
	}
	return changed, nil
}

// liveAndDryRun reads obj from the cluster and dry-runs its apply on the
// same version of it: when another writer (a controller adding an
// annotation) changes the object in between, it reads both again, so the
// diff shows only what applying obj would change.
func liveAndDryRun(ctx context.Context, c client.Client, obj *unstructured.Unstructured) (live, dry *unstructured.Unstructured, err error) {
	for range 5 {
		live = &unstructured.Unstructured{}
		live.SetGroupVersionKind(obj.GroupVersionKind())
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
			return nil, nil, err
		}
		dry = obj.DeepCopy()
		if err := c.Patch(ctx, dry, client.Apply, client.FieldOwner("kustomize-controller"), client.ForceOwnership, client.DryRunAll); err != nil {
			return nil, nil, fmt.Errorf("dry-run apply: %w", err)
		}
		if dry.GetResourceVersion() == live.GetResourceVersion() {
			break
		}
	}
	return live, dry, nil
}

// comparable is the object's YAML without fields the server manages.
func comparable(u *unstructured.Unstructured) string {
	c := u.DeepCopy()
	for _, f := range [][]string{{"metadata", "managedFields"}, {"metadata", "resourceVersion"}, {"metadata", "generation"},
		{"metadata", "creationTimestamp"}, {"metadata", "uid"}, {"status"}} {
		unstructured.RemoveNestedField(c.Object, f...)
	}
	data, _ := yaml.Marshal(c.Object)
	return string(data)
}
