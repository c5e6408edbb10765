package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/catalog"
	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

func newReconcileCommand(g *Globals) *cobra.Command {
	var withSource, force, reset bool
	cmd := &cobra.Command{
		Use:   "reconcile KIND NAME",
		Short: "Ask a controller to reconcile an object now and wait until it has",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, rest, err := kindArgs(args)
			if err != nil {
				return err
			}
			if len(rest) != 1 {
				return fmt.Errorf("name one %s to reconcile", k.Name())
			}
			if !k.Reconcilable {
				return fmt.Errorf("%s objects have no reconciler; nothing to do", k.Name())
			}
			var also []string
			if force {
				also = append(also, helmv2.ForceRequestAnnotation)
			}
			if reset {
				also = append(also, helmv2.ResetRequestAnnotation)
			}
			if len(also) > 0 && k.GVK.Kind != helmv2.HelmReleaseKind {
				return fmt.Errorf("--force and --reset are for HelmReleases, not %s", k.Name())
			}
			return runReconcile(cmd.Context(), g, k, client.ObjectKey{Namespace: g.Namespace, Name: rest[0]}, withSource, also...)
		},
	}
	cmd.Flags().BoolVar(&withSource, "with-source", false, "reconcile the object's source first")
	cmd.Flags().BoolVar(&force, "force", false, "HelmRelease: force a one-off install or upgrade, even when nothing changed")
	cmd.Flags().BoolVar(&reset, "reset", false, "HelmRelease: reset the install and upgrade failure counts, so remediation starts over")
	return cmd
}

func runReconcile(ctx context.Context, g *Globals, k catalog.Kind, key client.ObjectKey, withSource bool, also ...string) error {
	c, err := g.Client()
	if err != nil {
		return err
	}
	obj := k.New()
	if err := c.Get(ctx, key, obj); err != nil {
		return fmt.Errorf("%s %s: %w", k.Name(), key, err)
	}
	if catalog.Suspended(obj) {
		return fmt.Errorf("%s %s is suspended; run `gotk resume %s %s` first", k.Name(), key, k.Name(), key.Name)
	}
	if withSource && k.Source != nil {
		if srcKind, ns, name, ok := k.Source(obj); !ok {
			fmt.Fprintf(g.Out, "ℹ skipping the source: %s %s has no source known yet (its controller has not reconciled it)\n", k.Name(), key)
		} else {
			sk, src, ok, note, err := reconcilableSource(ctx, c, srcKind, client.ObjectKey{Namespace: ns, Name: name})
			if err != nil {
				return err
			}
			if !ok {
				fmt.Fprintf(g.Out, "ℹ skipping the source: %s\n", note)
			} else if err := runReconcile(ctx, g, sk, src, false); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(g.Out, "► annotating %s %s for reconciliation\n", k.Name(), key)
	token, err := catalog.RequestReconcile(ctx, c, obj, also...)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Out, "◎ waiting for %s reconciliation\n", k.Name())
	obj, err = waitHandled(ctx, c, k, key, token, g.Timeout)
	if err != nil {
		return err
	}
	getter := obj.(conditions.Getter)
	if !conditions.IsReady(getter) {
		return fmt.Errorf("%s %s reconciled but not ready: %s", k.Name(), key, conditions.GetMessage(getter, meta.ReadyCondition))
	}
	if rev := k.Revision(obj); rev != "" {
		fmt.Fprintf(g.Out, "✔ %s reconciliation completed: revision %s\n", k.Name(), rev)
	} else {
		fmt.Fprintf(g.Out, "✔ %s reconciliation completed\n", k.Name())
	}
	return nil
}

// waitHandled polls until the controller reports it handled the token and
// Ready is no longer Unknown.
func waitHandled(ctx context.Context, c client.Client, k catalog.Kind, key client.ObjectKey, token string, timeout time.Duration) (client.Object, error) {
	obj := k.New()
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, key, obj); err != nil {
			return false, nil
		}
		r, ok := obj.(catalog.Reconciled)
		if !ok || r.GetLastHandledReconcileRequest() != token {
			return false, nil
		}
		ready := conditions.Get(r, meta.ReadyCondition)
		return ready != nil && ready.Status != "Unknown", nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s %s was not reconciled within %s: is its controller running? (`gotk check`)", k.Name(), key, timeout)
	}
	return obj, nil
}
