package apply

import (
	"context"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/kustomize-controller/internal/inventory"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

// Prune deletes the objects of stale (entries that left the inventory),
// the reverse of the apply order: workloads before namespaces and CRDs.
// An object labelled or annotated kustomize.toolkit.fluxcd.io/prune:
// disabled, or now owned by another Kustomization, is left alone. It
// returns the change set and the entries whose delete failed, which stay
// in the inventory for the next attempt.
func (m *Manager) Prune(ctx context.Context, stale []inventory.Entry, o Options) (ChangeSet, []inventory.Entry, error) {
	order := make([]inventory.Entry, len(stale))
	copy(order, stale)
	sort.SliceStable(order, func(i, j int) bool {
		return m.stageOf(order[i].Object()) > m.stageOf(order[j].Object())
	})
	var cs ChangeSet
	var failed []inventory.Entry
	var errs []error
	for _, e := range order {
		live := e.Object()
		if err := m.Client.Get(ctx, client.ObjectKeyFromObject(live), live); err != nil {
			if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
				continue
			}
			failed = append(failed, e)
			errs = append(errs, fmt.Errorf("%s: %w", e, err))
			continue
		}
		if pruneDisabled(live) || !ownedBy(live, o) {
			cs = append(cs, Change{Object: e.String(), Action: Skipped})
			continue
		}
		if err := m.Client.Delete(ctx, live, client.PropagationPolicy("Background")); err != nil && !apierrors.IsNotFound(err) {
			failed = append(failed, e)
			errs = append(errs, fmt.Errorf("%s delete failed: %s", e, apiMessage(err)))
			continue
		}
		cs = append(cs, Change{Object: e.String(), Action: Deleted})
	}
	return cs, failed, joinErrors(errs)
}

func pruneDisabled(u *unstructured.Unstructured) bool {
	return strings.EqualFold(u.GetAnnotations()[kustomizev1.PruneAnnotation], kustomizev1.DisabledValue) ||
		strings.EqualFold(u.GetLabels()[kustomizev1.PruneAnnotation], kustomizev1.DisabledValue)
}

// ownedBy reports whether the object's owner labels (if any) name the
// pruning Kustomization.
func ownedBy(u *unstructured.Unstructured, o Options) bool {
	l := u.GetLabels()
	name, ok := l[kustomizev1.NameLabel]
	if !ok || o.OwnerName == "" {
		return true
	}
	return name == o.OwnerName && l[kustomizev1.NamespaceLabel] == o.OwnerNamespace
}
