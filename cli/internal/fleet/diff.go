package fleet

import (
	"sort"

	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"gotk.dev/cli/internal/secretmask"
	"gotk.dev/pkg/kustomize"
)

// Changes of an object between the base and this revision.
const (
	ChangeAdded   = "added"
	ChangeChanged = "changed"
	ChangeRemoved = "removed"
)

// ObjectDiff is one object the change adds, changes or removes.
type ObjectDiff struct {
	Kustomization string `json:"kustomization"`
	Object        string `json:"object"`
	Change        string `json:"change"`
	// Diff is a unified diff of the object's YAML, Secret values masked.
	Diff string `json:"diff"`
}

// diffNodes compares the objects each Kustomization renders at the base
// and now, Kustomization by Kustomization, in this revision's order
// (then the base's for Kustomizations that are gone).
func diffNodes(base, head []*node) []ObjectDiff {
	var out []ObjectDiff
	baseBy := map[string]*node{}
	for _, n := range base {
		baseBy[n.key()] = n
	}
	seen := map[string]bool{}
	for _, n := range head {
		seen[n.key()] = true
		out = append(out, diffObjects(n.key(), baseBy[n.key()], n)...)
	}
	for _, n := range base {
		if !seen[n.key()] {
			out = append(out, diffObjects(n.key(), n, nil)...)
		}
	}
	return out
}

func objectsOf(n *node) []*unstructured.Unstructured {
	if n == nil {
		return nil
	}
	return n.objs
}

// objectID names u in n: a chart's object without a namespace is in the
// release's (two releases of a chart render objects of the same name).
func objectID(n *node, u *unstructured.Unstructured) string {
	gvk := u.GroupVersionKind()
	ns := u.GetNamespace()
	if ns == "" {
		ns = releaseNamespace(n, u)
	}
	return gvk.Group + "/" + gvk.Kind + "/" + ns + "/" + u.GetName()
}

// diffObjects diffs two renderings of one Kustomization (either may be nil).
func diffObjects(ks string, bn, an *node) []ObjectDiff {
	b := map[string]*unstructured.Unstructured{}
	for _, u := range objectsOf(bn) {
		b[objectID(bn, u)] = u
	}
	var out []ObjectDiff
	inAfter := map[string]bool{}
	for _, u := range objectsOf(an) {
		id := objectID(an, u)
		inAfter[id] = true
		old := b[id]
		change := ChangeChanged
		if old == nil {
			change = ChangeAdded
		}
		if d := unified(old, u); d != "" {
			out = append(out, ObjectDiff{Kustomization: ks, Object: kustomize.ObjectRef(u), Change: change, Diff: d})
		}
	}
	var gone []string
	for id := range b {
		if !inAfter[id] {
			gone = append(gone, id)
		}
	}
	sort.Strings(gone)
	for _, id := range gone {
		out = append(out, ObjectDiff{Kustomization: ks, Object: kustomize.ObjectRef(b[id]), Change: ChangeRemoved, Diff: unified(b[id], nil)})
	}
	return out
}

// unified is the diff of the objects' YAML ("" when equal); either may
// be nil. Secret values are masked on copies.
func unified(before, after *unstructured.Unstructured) string {
	if before != nil {
		before = before.DeepCopy()
	}
	if after != nil {
		after = after.DeepCopy()
	}
	secretmask.Mask(before, after)
	a, b := yamlOf(before), yamlOf(after)
	if a == b {
		return ""
	}
	d, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(a), B: difflib.SplitLines(b), FromFile: "base", ToFile: "head", Context: 3,
	})
	return d
}

func yamlOf(u *unstructured.Unstructured) string {
	if u == nil {
		return ""
	}
	data, _ := yaml.Marshal(u.Object)
	return string(data)
}
