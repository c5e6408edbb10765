package fleet

import (
	"fmt"

	"gotk.dev/pkg/kustomize"
)

// doubleOwners reports each object rendered by more than one
// Kustomization, once per extra owner: in the cluster the two overwrite
// each other's changes and either one's prune deletes it.
func doubleOwners(nodes []*node, d *discoverer) []Finding {
	var findings []Finding
	owner := map[string]*node{}
	for _, n := range nodes {
		for _, obj := range n.objs {
			gvk := obj.GroupVersionKind()
			ns := obj.GetNamespace()
			if ns == "" {
				// A chart's objects without a namespace go to the release's.
				ns = releaseNamespace(n, obj)
			}
			key := gvk.Group + "/" + gvk.Kind + "/" + ns + "/" + obj.GetName()
			first, ok := owner[key]
			if !ok {
				owner[key] = n
				continue
			}
			if first == n {
				continue
			}
			findings = append(findings, Finding{
				Class: ClassDoubleOwner, Kustomization: n.key(), Object: kustomize.ObjectRef(obj), Source: n.source, File: d.fileOf(n, obj),
				Message: fmt.Sprintf("is also applied by Kustomization %s: the two would overwrite each other and either one's prune would delete it", first.key()),
			})
		}
	}
	return findings
}
