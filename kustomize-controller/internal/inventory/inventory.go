// Package inventory records what a Kustomization applied, in Flux's
// status.inventory format, and computes what left it.
package inventory

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

// Entry identifies one applied object.
type Entry struct {
	Namespace, Name, Group, Version, Kind string
}

// ID is Flux's entry id: "<namespace>_<name>_<group>_<kind>", with ":" in
// names (RBAC objects) written as "__".
func (e Entry) ID() string {
	return e.Namespace + "_" + strings.ReplaceAll(e.Name, ":", "__") + "_" + e.Group + "_" + e.Kind
}

// GVK returns the entry's group, version and kind.
func (e Entry) GVK() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: e.Group, Version: e.Version, Kind: e.Kind}
}

// String names the object as users read it: Kind/namespace/name.
func (e Entry) String() string {
	if e.Namespace == "" {
		return e.Kind + "/" + e.Name
	}
	return e.Kind + "/" + e.Namespace + "/" + e.Name
}

// Object returns an empty object of the entry's kind, name and namespace.
func (e Entry) Object() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(e.GVK())
	u.SetNamespace(e.Namespace)
	u.SetName(e.Name)
	return u
}

// FromObject returns the entry of an object.
func FromObject(u *unstructured.Unstructured) Entry {
	gvk := u.GroupVersionKind()
	return Entry{Namespace: u.GetNamespace(), Name: u.GetName(), Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind}
}

// Parse reads a status entry back; it fails on ids not in Flux's format.
func Parse(ref kustomizev1.ResourceRef) (Entry, error) {
	id := ref.ID
	first := strings.Index(id, "_")
	last := strings.LastIndex(id, "_")
	if first < 0 || last <= first {
		return Entry{}, fmt.Errorf("invalid inventory id %q", id)
	}
	kind := id[last+1:]
	rest := id[first+1 : last]
	second := strings.LastIndex(rest, "_")
	if second < 0 {
		return Entry{}, fmt.Errorf("invalid inventory id %q", id)
	}
	e := Entry{
		Namespace: id[:first],
		Name:      strings.ReplaceAll(rest[:second], "__", ":"),
		Group:     rest[second+1:],
		Kind:      kind,
		Version:   ref.Version,
	}
	if e.Name == "" || e.Kind == "" || e.Version == "" {
		return Entry{}, fmt.Errorf("invalid inventory id %q (version %q)", id, ref.Version)
	}
	return e, nil
}

// New returns the status inventory of entries, in order.
func New(entries []Entry) *kustomizev1.ResourceInventory {
	inv := &kustomizev1.ResourceInventory{Entries: make([]kustomizev1.ResourceRef, 0, len(entries))}
	for _, e := range entries {
		inv.Entries = append(inv.Entries, kustomizev1.ResourceRef{ID: e.ID(), Version: e.Version})
	}
	return inv
}

// Entries parses a status inventory; invalid entries are returned as errors.
func Entries(inv *kustomizev1.ResourceInventory) ([]Entry, error) {
	if inv == nil {
		return nil, nil
	}
	out := make([]Entry, 0, len(inv.Entries))
	for _, r := range inv.Entries {
		e, err := Parse(r)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Stale returns the entries of old whose object is not in cur (compared
// by id, so a version change is not a removal).
func Stale(old, cur []Entry) []Entry {
	keep := make(map[string]bool, len(cur))
	for _, e := range cur {
		keep[e.ID()] = true
	}
	var out []Entry
	for _, e := range old {
		if !keep[e.ID()] {
			out = append(out, e)
		}
	}
	return out
}
