package v1

// ResourceInventory lists the Kubernetes objects a Kustomization applied, so
// that the ones that leave the source can be pruned.
type ResourceInventory struct {
	// Entries are the references of the applied objects.
	// +required
	Entries []ResourceRef `json:"entries"`
}

// ResourceRef identifies one applied object.
type ResourceRef struct {
	// ID is the object's key in the form
	// '<namespace>_<name>_<group>_<kind>'.
	// +required
	ID string `json:"id"`

	// Version is the API version of the object's group.
	// +required
	Version string `json:"v"`
}
