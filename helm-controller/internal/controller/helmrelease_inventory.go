package controller

import (
	"bytes"
	"fmt"
	"sort"

	helmaction "helm.sh/helm/v4/pkg/action"
	helmrelease "helm.sh/helm/v4/pkg/release/v1"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	"gotk.dev/pkg/runtime/reconcile"
)

// ReasonInventoryFailed is the reason when the release's objects cannot
// be listed from its manifest.
const ReasonInventoryFailed = "InventoryFailed"

// recordInventory sets status.inventory to the objects of the release's
// manifest, as Flux does, so `flux tree` and dashboards can list them.
// Namespaces come from the REST mapping (a namespaced object without one
// is in the release namespace). Hook objects are not part of it.
func recordInventory(cfg *helmaction.Configuration, obj *helmv2.HelmRelease, cur *helmrelease.Release) error {
	resources, err := cfg.KubeClient.Build(bytes.NewBufferString(cur.Manifest), false)
	if err != nil {
		return reconcile.Retry(ReasonInventoryFailed, "reading the manifest of release %s/%s: %w", cur.Namespace, cur.Name, err)
	}
	inv := &helmv2.ResourceInventory{Entries: []helmv2.ResourceRef{}}
	for _, info := range resources {
		gvk := info.Object.GetObjectKind().GroupVersionKind()
		if info.Mapping != nil {
			gvk = info.Mapping.GroupVersionKind
		}
		inv.Entries = append(inv.Entries, helmv2.ResourceRef{
			ID:      fmt.Sprintf("%s_%s_%s_%s", info.Namespace, info.Name, gvk.Group, gvk.Kind),
			Version: gvk.Version,
		})
	}
	sort.Slice(inv.Entries, func(i, j int) bool { return inv.Entries[i].ID < inv.Entries[j].ID })
	obj.Status.Inventory = inv
	return nil
}
