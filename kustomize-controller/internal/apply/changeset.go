// Package apply is kustomize-controller's apply engine: staged
// server-side apply with a dry-run of every stage before any write, the
// per-object annotations of the Kustomization API, and change sets that
// say what happened to each object.
package apply

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

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

// Event and message limits: up to maxListed written objects are named one
// per line, as Flux's events do; more are summarised per action and kind
// with the first few names, and no text is longer than MaxMessage bytes (a
// 5,000-object apply must not send a 200,000-character event).
const (
	maxListed  = 10
	maxNamed   = 3
	MaxMessage = 1024
)

// String describes the written objects: one "Kind/namespace/name action"
// line each for a few, a summary per action and kind for many.
func (cs ChangeSet) String() string {
	var written []Change
	for _, c := range cs {
		if c.Action != Unchanged && c.Action != Skipped {
			written = append(written, c)
		}
	}
	if len(written) <= maxListed {
		lines := make([]string, len(written))
		for i, c := range written {
			lines[i] = c.Object + " " + string(c.Action)
		}
		if s := strings.Join(lines, "\n"); len(s) <= MaxMessage {
			return s
		}
	}
	return Truncate(summary(written), MaxMessage)
}

// summary counts changes per action (in first-seen order) and kind and
// names the first few of each action.
func summary(written []Change) string {
	type tally struct {
		n     int
		kinds map[string]int
		names []string
	}
	var order []Action
	by := map[Action]*tally{}
	for _, c := range written {
		t := by[c.Action]
		if t == nil {
			t = &tally{kinds: map[string]int{}}
			by[c.Action] = t
			order = append(order, c.Action)
		}
		t.n++
		kind, _, _ := strings.Cut(c.Object, "/")
		t.kinds[kind]++
		if len(t.names) < maxNamed {
			t.names = append(t.names, c.Object)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d objects changed", len(written))
	for _, a := range order {
		t := by[a]
		kinds := make([]string, 0, len(t.kinds))
		for k := range t.kinds {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for i, k := range kinds {
			kinds[i] = fmt.Sprintf("%s %d", k, t.kinds[k])
		}
		fmt.Fprintf(&b, "\n%s %d (%s): %s", a, t.n, strings.Join(kinds, ", "), strings.Join(t.names, ", "))
		if more := t.n - len(t.names); more > 0 {
			fmt.Fprintf(&b, " and %d more", more)
		}
	}
	return b.String()
}

// Truncate cuts s to at most n bytes on a character boundary, ending in
// "…" when it cut.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	cut := n - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// maxErrors is how many per-object errors a stage's failure names; the
// rest are counted.
const maxErrors = 5

// joinErrors joins the first maxErrors errors and counts the others, so a
// stage where thousands of objects fail gives a readable message.
func joinErrors(errs []error) error {
	if len(errs) <= maxErrors {
		return errors.Join(errs...)
	}
	head := append([]error{}, errs[:maxErrors]...)
	head = append(head, fmt.Errorf("and %d more objects failed", len(errs)-maxErrors))
	return errors.Join(head...)
}
