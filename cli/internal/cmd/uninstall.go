package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/catalog"
	"gotk.dev/cli/internal/install"
)

func newUninstallCommand(g *Globals) *cobra.Command {
	var keepNamespace, dryRun, silent bool
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove gotk's controllers and CRDs; objects gotk applied stay in the cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !silent && !dryRun && isTerminal(cmd.InOrStdin()) {
				fmt.Fprintf(g.Out, "Are you sure you want to delete gotk and its custom resource definitions? [y/N] ")
				answer, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if a := strings.TrimSpace(strings.ToLower(answer)); a != "y" && a != "yes" {
					return errors.New("uninstall cancelled")
				}
			}
			return runUninstall(cmd.Context(), g, keepNamespace, dryRun)
		},
	}
	cmd.Flags().BoolVar(&keepNamespace, "keep-namespace", false, "keep the install namespace")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only print what would be removed: every delete and patch is a server-side dry run")
	cmd.Flags().BoolVarP(&silent, "silent", "s", false, "do not ask for confirmation (it is asked only on a terminal)")
	return cmd
}

// isTerminal says whether r is a character device (a terminal), where a
// question can be answered.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// runUninstall stops the controllers first, then strips gotk finalizers so
// deleting the CRDs never triggers a prune of applied workloads.
func runUninstall(ctx context.Context, g *Globals, keepNamespace, dryRun bool) error {
	c, err := g.Client()
	if err != nil {
		return err
	}
	if dryRun {
		// The API server checks every write and applies none.
		c = client.NewDryRunClient(c)
		fmt.Fprintln(g.Out, "► dry run: nothing is changed")
	}
	objs, err := install.Objects(install.DefaultOptions())
	if err != nil {
		return err
	}
	for _, obj := range objs {
		if obj.GetKind() == "Deployment" {
			if err := deleteIfExists(ctx, c, obj); err != nil {
				return err
			}
		}
	}
	fmt.Fprintln(g.Out, "✔ controllers stopped")

	stripped := 0
	for _, k := range catalog.All {
		list := k.NewList()
		if err := c.List(ctx, list); err != nil {
			if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
				continue
			}
			return fmt.Errorf("listing %s: %w", k.Name(), err)
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return err
		}
		for _, item := range items {
			obj := item.(client.Object)
			if len(obj.GetFinalizers()) == 0 {
				continue
			}
			patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
			obj.SetFinalizers(nil)
			if err := c.Patch(ctx, obj, patch); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("removing finalizers of %s %s/%s: %w", k.Name(), obj.GetNamespace(), obj.GetName(), err)
			}
			stripped++
		}
	}
	fmt.Fprintf(g.Out, "✔ finalizers removed from %d objects\n", stripped)

	for _, obj := range objs {
		if obj.GetKind() == "Deployment" || obj.GetKind() == "Namespace" {
			continue
		}
		if err := deleteIfExists(ctx, c, obj); err != nil {
			return err
		}
	}
	fmt.Fprintln(g.Out, "✔ CRDs, RBAC and services deleted")
	if !keepNamespace {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: g.Namespace}}
		if err := c.Delete(ctx, ns); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting namespace %s: %w", g.Namespace, err)
		}
		fmt.Fprintf(g.Out, "✔ namespace %s deleted\n", g.Namespace)
	}
	fmt.Fprintln(g.Out, "✔ uninstall finished")
	return nil
}

func deleteIfExists(ctx context.Context, c client.Client, obj *unstructured.Unstructured) error {
	if err := c.Delete(ctx, obj.DeepCopy()); err != nil && !apierrors.IsNotFound(err) && !meta.IsNoMatchError(err) {
		return fmt.Errorf("deleting %s/%s: %w", obj.GetKind(), obj.GetName(), err)
	}
	return nil
}
