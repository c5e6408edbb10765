package apply

import (
	"context"
	"fmt"
	"reflect"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/kustomize"
)

// listThreshold is the number of objects of one kind in one namespace
// from which the live objects are read with one list instead of one get
// each: a 5,000-object Kustomization is read in a few requests.
const listThreshold = 16

// absent reports whether u can be applied straight away: the watch cache
// says no object with the owner labels exists, and nothing about u needs
// the live object first (create-only, ignored fields). A stale answer
// costs nothing: the apply itself tells whether the object was there
// (see adopted).
func (m *Manager) absent(u *unstructured.Unstructured, o Options) bool {
	if m.Lookup == nil || kustomize.OnlyIfAbsent(u) {
		return false
	}
	if o.IgnoreFields != nil && len(o.IgnoreFields(u)) > 0 {
		return false
	}
	exists, known := m.Lookup(u)
	return known && !exists
}

// adopted handles an object applied without a read whose apply answer
// shows other field managers: it existed without the owner labels (made
// by kubectl, say). The fields of kubectl's managers are taken over as a
// planned apply does, and the object is applied again.
func (m *Manager) adopted(ctx context.Context, p *plan, answer *unstructured.Unstructured) error {
	foreign := false
	for _, e := range answer.GetManagedFields() {
		if e.Manager != m.FieldManager && e.Subresource == "" {
			foreign = true
		}
	}
	if !foreign {
		return nil
	}
	p.action = Configured
	takeover, err := takeoverPatch(p.obj, answer, m.FieldManager, nil)
	if err != nil || takeover == nil {
		return err
	}
	if err := m.takeOver(ctx, p.obj, takeover, nil); err != nil {
		return fmt.Errorf("%s: taking over the fields of kubectl's field managers failed: %s", kustomize.ObjectRef(p.obj), apiMessage(err))
	}
	return m.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(p.obj.DeepCopy()),
		client.FieldOwner(m.FieldManager), client.ForceOwnership)
}

// liveKey names an object by kind, namespace and name.
type liveKey struct {
	gvk             schema.GroupVersionKind
	namespace, name string
}

func keyOf(u *unstructured.Unstructured) liveKey {
	return liveKey{gvk: u.GroupVersionKind(), namespace: u.GetNamespace(), name: u.GetName()}
}

// listLive reads, for each kind and namespace with at least listThreshold
// objects of objs, the objects carrying the owner labels with one list
// from the API server's watch cache. Objects missing from the answer are
// read one by one later (they may lack the labels).
func (m *Manager) listLive(ctx context.Context, objs []*unstructured.Unstructured, o Options) (map[liveKey]*unstructured.Unstructured, error) {
	if o.OwnerName == "" {
		return nil, nil
	}
	type group struct {
		gvk       schema.GroupVersionKind
		namespace string
	}
	counts := map[group]int{}
	for _, u := range objs {
		counts[group{u.GroupVersionKind(), u.GetNamespace()}]++
	}
	out := map[liveKey]*unstructured.Unstructured{}
	for g, n := range counts {
		if n < listThreshold {
			continue
		}
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(g.gvk.GroupVersion().WithKind(g.gvk.Kind + "List"))
		opts := []client.ListOption{
			client.MatchingLabels{kustomizev1.NameLabel: o.OwnerName, kustomizev1.NamespaceLabel: o.OwnerNamespace},
			&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: "0"}},
		}
		if g.namespace != "" {
			opts = append(opts, client.InNamespace(g.namespace))
		}
		if err := m.Client.List(ctx, list, opts...); err != nil {
			return nil, fmt.Errorf("listing %s: %w", g.gvk.Kind, err)
		}
		for i := range list.Items {
			u := &list.Items[i]
			u.SetGroupVersionKind(g.gvk)
			out[keyOf(u)] = u
		}
	}
	return out, nil
}

// holds reports whether live already has every value of desired (maps
// compared key by key, lists item by item, numbers by value). Fields
// live has beyond desired (defaults, other managers' fields, status) do
// not matter: applying desired again sets nothing new.
func holds(live, desired any) bool {
	switch d := desired.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return false
		}
		for k, dv := range d {
			lv, found := l[k]
			if !found || !holds(lv, dv) {
				return false
			}
		}
		return true
	case []any:
		l, ok := live.([]any)
		if !ok || len(l) != len(d) {
			return false
		}
		for i := range d {
			if !holds(l[i], d[i]) {
				return false
			}
		}
		return true
	default:
		if df, ok := number(desired); ok {
			lf, ok := number(live)
			return ok && lf == df
		}
		return reflect.DeepEqual(live, desired)
	}
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}
