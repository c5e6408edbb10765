// Package apply is kustomize-controller's apply engine: staged
// server-side apply with a dry-run of every stage before any write, the
// per-object annotations of the Kustomization API, and change sets that
// say what happened to each object.
package apply

import "strings"

// Action is what the apply did to one object.
type Action string

// Actions reported in a ChangeSet.
const (
	Created    Action = "created"
	Configured Action = "configured"
	Unchanged  Action = "unchanged"
	Skipped    Action = "skipped"
	Recreated  Action = "recreated"
	Deleted    Action = "deleted"
)

// Change is one object's outcome, named Kind/namespace/name.
type Change struct {
	Object string
	Action Action
}

// ChangeSet lists the outcomes in apply order.
type ChangeSet []Change

// Changed reports whether anything was written.
func (cs ChangeSet) Changed() bool {
	for _, c := range cs {
		if c.Action != Unchanged && c.Action != Skipped {
			return true
		}
	}
	return false
}

// String lists the written objects one per line, as Flux's events do:
// "Deployment/production/my-app configured".
func (cs ChangeSet) String() string {
	var b strings.Builder
	for _, c := range cs {
		if c.Action == Unchanged || c.Action == Skipped {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(c.Object + " " + string(c.Action))
	}
	return b.String()
}
