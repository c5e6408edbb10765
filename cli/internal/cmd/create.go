package cmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"gotk.dev/cli/internal/catalog"
)

// createFlags are common to every `create` subcommand.
type createFlags struct {
	export   bool
	interval time.Duration
	labels   []string
}

func newCreateCommand(g *Globals) *cobra.Command {
	cf := &createFlags{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create or update gotk objects (or print them with --export)",
	}
	pf := cmd.PersistentFlags()
	pf.BoolVar(&cf.export, "export", false, "print the object as YAML instead of applying it")
	pf.DurationVar(&cf.interval, "interval", time.Minute, "how often the object is reconciled")
	pf.StringSliceVar(&cf.labels, "label", nil, "labels to set, as key=value")
	source := &cobra.Command{Use: "source", Short: "Create a source"}
	source.AddCommand(newCreateSourceGit(g, cf), newCreateSourceOCI(g, cf), newCreateSourceHelm(g, cf), newCreateSourceBucket(g, cf), newCreateSourceChart(g, cf))
	image := &cobra.Command{Use: "image", Short: "Create an image repository, policy or update automation"}
	image.AddCommand(newCreateImageRepository(g, cf), newCreateImagePolicy(g, cf), newCreateImageUpdate(g, cf))
	cmd.AddCommand(source, image, newCreateKustomization(g, cf), newCreateHelmRelease(g, cf),
		newCreateAlert(g, cf), newCreateAlertProvider(g, cf), newCreateReceiver(g, cf),
		newCreateSecretCommand(g, cf), newCreateTenant(g, cf))
	return cmd
}

// objectMeta builds the metadata of a new object from the flags.
func (cf *createFlags) objectMeta(g *Globals, name string) (metav1.ObjectMeta, error) {
	om := metav1.ObjectMeta{Name: name, Namespace: g.Namespace}
	for _, l := range cf.labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return om, fmt.Errorf("--label wants key=value, got %q", l)
		}
		if om.Labels == nil {
			om.Labels = map[string]string{}
		}
		om.Labels[k] = v
	}
	return om, nil
}

func (cf *createFlags) duration() metav1.Duration { return metav1.Duration{Duration: cf.interval} }

// finishCreate prints or applies obj and, for reconciled kinds, waits until
// the controller reports it Ready.
func finishCreate(ctx context.Context, g *Globals, cf *createFlags, obj client.Object) error {
	c, err := g.scheme()
	if err != nil {
		return err
	}
	gvk, err := apiutil.GVKForObject(obj, c)
	if err != nil {
		return err
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	if cf.export {
		data, err := catalog.CleanYAML(obj)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(g.Out, "---\n%s", data)
		return err
	}
	cl, err := g.Client()
	if err != nil {
		return err
	}
	k, err := catalog.ByKind(gvk.Kind)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Out, "► applying %s %s/%s\n", k.Name(), obj.GetNamespace(), obj.GetName())
	if err := cl.Patch(ctx, obj, client.Apply, client.FieldOwner("gotk"), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying %s %s: %w", k.Name(), obj.GetName(), err)
	}
	if !k.Reconcilable {
		fmt.Fprintf(g.Out, "✔ %s %s created\n", k.Name(), obj.GetName())
		return nil
	}
	fmt.Fprintf(g.Out, "◎ waiting for %s reconciliation\n", k.Name())
	return waitReady(ctx, g, cl, k, client.ObjectKeyFromObject(obj))
}

// waitReady polls until the object's current generation is reconciled.
func waitReady(ctx context.Context, g *Globals, c client.Client, k catalog.Kind, key client.ObjectKey) error {
	obj := k.New()
	var msg string
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, g.Timeout, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, key, obj); err != nil {
			return false, nil
		}
		r := obj.(catalog.Reconciled)
		ready := conditions.Get(r, meta.ReadyCondition)
		if ready == nil || r.GetObservedGeneration() != obj.GetGeneration() {
			return false, nil
		}
		msg = ready.Message
		return ready.Status != metav1.ConditionUnknown, nil
	})
	if err != nil {
		return fmt.Errorf("%s %s was not reconciled within %s: is its controller running? (`gotk check`)", k.Name(), key, g.Timeout)
	}
	if !conditions.IsReady(obj.(catalog.Reconciled)) {
		return fmt.Errorf("%s %s is not ready: %s", k.Name(), key, msg)
	}
	fmt.Fprintf(g.Out, "✔ %s %s is ready: %s\n", k.Name(), key.Name, msg)
	return nil
}

// parseRef reads `Kind/name` or `Kind/name.namespace` (Flux's --source syntax).
func parseRef(s, flag string) (kind, name, namespace string, err error) {
	kind, rest, ok := strings.Cut(s, "/")
	if !ok || kind == "" || rest == "" {
		return "", "", "", fmt.Errorf("%s wants Kind/name or Kind/name.namespace, got %q", flag, s)
	}
	name, namespace, _ = strings.Cut(rest, ".")
	return kind, name, namespace, nil
}
