package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/catalog"
)

// tenantLabel marks every object `create tenant` makes (Flux's label).
const tenantLabel = "toolkit.fluxcd.io/tenant"

func newCreateTenant(g *Globals, cf *createFlags) *cobra.Command {
	var namespaces []string
	var clusterRole string
	cmd := &cobra.Command{
		Use:   "tenant NAME --with-namespace NS...",
		Short: "Create a tenant: per namespace, the Namespace, a ServiceAccount and a RoleBinding for reconcilers",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			objs, err := tenantObjects(g, cf, args[0], namespaces, clusterRole)
			if err != nil {
				return err
			}
			if cf.export {
				for _, o := range objs {
					data, err := catalog.CleanYAML(o)
					if err != nil {
						return err
					}
					fmt.Fprintf(g.Out, "---\n%s", data)
				}
				return nil
			}
			return applyTenant(cmd.Context(), g, objs)
		},
	}
	cmd.Flags().StringSliceVar(&namespaces, "with-namespace", nil, "namespace belonging to the tenant (repeatable)")
	cmd.Flags().StringVar(&clusterRole, "cluster-role", "cluster-admin", "ClusterRole the tenant's RoleBindings grant")
	return cmd
}

// tenantObjects builds, for each namespace, what Flux's `create tenant`
// builds: the Namespace, a ServiceAccount named after the tenant and a
// RoleBinding `<tenant>-reconciler` granting the cluster role to it and
// to the `gotk:<ns>:reconciler` user.
func tenantObjects(g *Globals, cf *createFlags, tenant string, namespaces []string, clusterRole string) ([]client.Object, error) {
	if errs := validation.IsQualifiedName(tenant); len(errs) > 0 {
		return nil, fmt.Errorf("invalid tenant name %q: %v", tenant, errs)
	}
	if clusterRole == "" {
		return nil, errors.New("--cluster-role is required")
	}
	if len(namespaces) == 0 {
		return nil, errors.New("--with-namespace is required")
	}
	var out []client.Object
	for _, ns := range namespaces {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return nil, fmt.Errorf("invalid namespace %q: %v", ns, errs)
		}
		om, err := cf.objectMeta(g, tenant)
		if err != nil {
			return nil, err
		}
		if om.Labels == nil {
			om.Labels = map[string]string{}
		}
		om.Labels[tenantLabel] = tenant
		labels := om.Labels
		out = append(out,
			&corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
				ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}},
			&corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
				ObjectMeta: metav1.ObjectMeta{Name: tenant, Namespace: ns, Labels: labels}},
			&rbacv1.RoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
				ObjectMeta: metav1.ObjectMeta{Name: tenant + "-reconciler", Namespace: ns, Labels: labels},
				Subjects: []rbacv1.Subject{
					{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "gotk:" + ns + ":reconciler"},
					{Kind: rbacv1.ServiceAccountKind, Name: tenant, Namespace: ns},
				},
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole}},
		)
	}
	return out, nil
}

// applyTenant applies the objects in order. A RoleBinding's roleRef cannot
// change, so one bound to another role is replaced, as Flux does.
func applyTenant(ctx context.Context, g *Globals, objs []client.Object) error {
	c, err := g.Client()
	if err != nil {
		return err
	}
	for _, o := range objs {
		kind := o.GetObjectKind().GroupVersionKind().Kind
		fmt.Fprintf(g.Out, "► applying %s %s\n", kind, client.ObjectKeyFromObject(o))
		if rb, ok := o.(*rbacv1.RoleBinding); ok {
			var live rbacv1.RoleBinding
			if err := c.Get(ctx, client.ObjectKeyFromObject(rb), &live); err == nil && live.RoleRef != rb.RoleRef {
				if err := c.Delete(ctx, &live); err != nil {
					return fmt.Errorf("replacing RoleBinding %s: %w", rb.Name, err)
				}
			}
		}
		if err := c.Patch(ctx, o, client.Apply, client.FieldOwner("gotk"), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s %s: %w", kind, o.GetName(), err)
		}
	}
	fmt.Fprintln(g.Out, "✔ tenant setup completed")
	return nil
}
