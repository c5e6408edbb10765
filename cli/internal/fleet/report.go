// Package fleet checks a fleet repository offline, as `gotk test` does:
// it discovers the Kustomizations a cluster would reconcile from the
// repository, builds each with the controller's own build, and validates
// every object against a real API server started for the run.
package fleet

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Finding classes.
const (
	ClassBuild             = "build"
	ClassSchema            = "schema"
	ClassUnknownKind       = "unknown-kind"
	ClassMissingNamespace  = "missing-namespace"
	ClassCycle             = "dependency-cycle"
	ClassMissingDependency = "missing-dependency"
	ClassApply             = "apply"
	ClassDoubleOwner       = "double-owner"
	// ClassImmutable is a change (against --base) of a field the API
	// server does not let change.
	ClassImmutable = "immutable-field"
	// ClassHelm is a HelmRelease whose chart cannot be loaded or
	// rendered with its values.
	ClassHelm = "helm"
)

// Finding is one problem the cluster would meet.
type Finding struct {
	// Class says what kind of problem it is (ClassBuild, ...).
	Class string `json:"class"`
	// Kustomization is namespace/name of the Kustomization at fault.
	Kustomization string `json:"kustomization"`
	// Object is Kind/namespace/name of the object, when one is at fault.
	Object string `json:"object,omitempty"`
	// Source is the source the file is read from (Kind/namespace/name).
	Source string `json:"source,omitempty"`
	// File is the file at fault, relative to the source's root.
	File string `json:"file,omitempty"`
	// Message says what is wrong.
	Message string `json:"message"`
}

// Skipped is something not checked, and why; it is never a pass.
type Skipped struct {
	Kustomization string `json:"kustomization"`
	Object        string `json:"object,omitempty"`
	Reason        string `json:"reason"`
}

// KustomizationResult is the outcome of one Kustomization.
type KustomizationResult struct {
	Name    string `json:"name"`
	Source  string `json:"source"`
	Path    string `json:"path"`
	File    string `json:"file,omitempty"`
	Objects int    `json:"objects"`
	// Status is passed, failed or skipped.
	Status string `json:"status"`
}

// ClusterReport is the outcome of one cluster directory.
type ClusterReport struct {
	Path           string                `json:"path"`
	Kustomizations []KustomizationResult `json:"kustomizations"`
	Findings       []Finding             `json:"findings"`
	Skipped        []Skipped             `json:"skipped"`
	// Diff is what changes against the base revision (with --base).
	Diff []ObjectDiff `json:"diff,omitempty"`

	nodes []*node
}

// Report is the outcome of a run.
type Report struct {
	Clusters []ClusterReport `json:"clusters"`
	// Base is the revision diffed against, if any.
	Base string `json:"base,omitempty"`
	// Seconds is how long the run took.
	Seconds float64 `json:"seconds"`
}

// Findings counts the findings of every cluster.
func (r *Report) Findings() int {
	n := 0
	for _, c := range r.Clusters {
		n += len(c.Findings)
	}
	return n
}

// Skips counts what was skipped in every cluster.
func (r *Report) Skips() int {
	n := 0
	for _, c := range r.Clusters {
		n += len(c.Skipped)
	}
	return n
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for people: per cluster, each Kustomization
// with its findings under it, then a summary line.
func (r *Report) WriteText(w io.Writer) {
	for _, c := range r.Clusters {
		fmt.Fprintf(w, "► cluster %s: %d Kustomizations\n", c.Path, len(c.Kustomizations))
		for _, k := range c.Kustomizations {
			mark := map[string]string{"passed": "✔", "failed": "✗", "skipped": "⊘"}[k.Status]
			fmt.Fprintf(w, "%s Kustomization %s (%s, path %s): %d objects, %s\n", mark, k.Name, k.Source, k.Path, k.Objects, k.Status)
			for _, f := range c.Findings {
				if f.Kustomization == k.Name {
					writeFinding(w, f)
				}
			}
			for _, s := range c.Skipped {
				if s.Kustomization == k.Name {
					fmt.Fprintf(w, "    ⊘ %s\n", strings.TrimSpace(s.Object+" "+s.Reason))
				}
			}
		}
		if r.Base != "" {
			writeDiffText(w, r.Base, c.Diff)
		}
		// Findings not tied to a discovered Kustomization (a dependsOn on
		// one that does not exist is reported on the one declaring it).
		for _, f := range c.Findings {
			if !hasKustomization(c, f.Kustomization) {
				writeFinding(w, f)
			}
		}
	}
	fmt.Fprintf(w, "%d findings, %d skipped (%.1fs)\n", r.Findings(), r.Skips(), r.Seconds)
}

func writeFinding(w io.Writer, f Finding) {
	where := f.File
	if f.Object != "" {
		where = strings.TrimSpace(f.Object + " " + paren(f.File))
	}
	fmt.Fprintf(w, "    ✗ [%s] %s: %s\n", f.Class, where, f.Message)
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func hasKustomization(c ClusterReport, name string) bool {
	for _, k := range c.Kustomizations {
		if k.Name == name {
			return true
		}
	}
	return false
}

func writeDiffText(w io.Writer, base string, diffs []ObjectDiff) {
	fmt.Fprintf(w, "► changes against %s: %d objects\n", base, len(diffs))
	for _, d := range diffs {
		fmt.Fprintf(w, "  %s %s (Kustomization %s)\n", d.Change, d.Object, d.Kustomization)
		if d.Change == ChangeChanged {
			for _, line := range strings.Split(strings.TrimRight(d.Diff, "\n"), "\n") {
				fmt.Fprintf(w, "    %s\n", line)
			}
		}
	}
}
