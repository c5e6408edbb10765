package catalog

import (
	"fmt"
	"strings"
)

// InventoryEntry is a parsed inventory id `<namespace>_<name>_<group>_<kind>`.
type InventoryEntry struct {
	Namespace, Name, Group, Kind string
}

// ParseInventoryID reads Flux's inventory id format.
func ParseInventoryID(id string) (InventoryEntry, error) {
	parts := strings.Split(id, "_")
	if len(parts) != 4 || parts[1] == "" || parts[3] == "" {
		return InventoryEntry{}, fmt.Errorf("malformed inventory id %q", id)
	}
	return InventoryEntry{Namespace: parts[0], Name: parts[1], Group: parts[2], Kind: parts[3]}, nil
}

// String is Kind/namespace/name (Kind/name for a cluster-scoped object).
func (e InventoryEntry) String() string {
	if e.Namespace == "" {
		return e.Kind + "/" + e.Name
	}
	return e.Kind + "/" + e.Namespace + "/" + e.Name
}
