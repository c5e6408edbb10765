package v2

// ResourceInventory lists the Kubernetes objects of a release.
type ResourceInventory struct {
	// Entries are the references of the objects.
	// +required
	Entries []ResourceRef `json:"entries"`
}

// ResourceRef identifies one object of a release.
type ResourceRef struct {
	// ID is the object's key in the form
	// '<namespace>_<name>_<group>_<kind>'.
	// +required
	ID string `json:"id"`

	// Version is the API version of the object's group.
	// +required
	Version string `json:"v"`
}
