// Package drift compares the objects of a Helm release manifest with the
// cluster and, when asked, puts them back: a server-side apply dry run
// of each manifest object shows what applying it would change.
package drift

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/fluxcd/pkg/apis/kustomize"
	"helm.sh/helm/v4/pkg/kube"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/dynamic"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// FieldManager owns the fields drift correction applies.
const FieldManager = "helm-controller"

// Object is one drifted object and what differs.
type Object struct {
	ID      string
	Missing bool
	Fields  []string

	obj *unstructured.Unstructured
	ri  dynamic.ResourceInterface
}

// String names the object and the differing top-level fields.
func (o Object) String() string {
	if o.Missing {
		return o.ID + " (missing)"
	}
	return o.ID + " (" + strings.Join(o.Fields, ", ") + ")"
}

// Helm's ownership metadata, which Helm adds to every release object it
// applies but not to the release manifest.
const (
	managedByLabel             = "app.kubernetes.io/managed-by"
	releaseNameAnnotation      = "meta.helm.sh/release-name"
	releaseNamespaceAnnotation = "meta.helm.sh/release-namespace"
)

// Release names the Helm release whose objects are compared.
type Release struct{ Name, Namespace string }

// Detect returns the manifest objects of rls whose live state differs from
// what applying the manifest would produce, ignoring the rules' JSON
// pointers and objects labelled or annotated with driftDetection:
// disabled.
func Detect(ctx context.Context, dyn dynamic.Interface, rls Release, resources kube.ResourceList, rules []helmv2.IgnoreRule) ([]Object, error) {
	var drifted []Object
	for _, info := range resources {
		u, ok := info.Object.(*unstructured.Unstructured)
		if !ok || info.Mapping == nil {
			continue
		}
		desired := u.DeepCopy()
		if disabled(desired) {
			continue
		}
		// As Helm applied it: with server-side apply by the same manager,
		// metadata missing here would read as drift and be removed.
		setOwnership(desired, rls)
		var ri dynamic.ResourceInterface = dyn.Resource(info.Mapping.Resource)
		if info.Namespaced() {
			desired.SetNamespace(info.Namespace)
			ri = dyn.Resource(info.Mapping.Resource).Namespace(info.Namespace)
		}
		id := fmt.Sprintf("%s/%s", desired.GetKind(), desired.GetName())
		if desired.GetNamespace() != "" {
			id = fmt.Sprintf("%s/%s/%s", desired.GetKind(), desired.GetNamespace(), desired.GetName())
		}
		live, err := ri.Get(ctx, desired.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			drifted = append(drifted, Object{ID: id, Missing: true, obj: desired, ri: ri})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		if disabled(live) {
			continue
		}
		dry, err := ri.Apply(ctx, desired.GetName(), desired, metav1.ApplyOptions{FieldManager: FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return nil, fmt.Errorf("%s: dry-run apply: %w", id, err)
		}
		a, b := normalize(live.Object), normalize(dry.Object)
		for _, r := range rules {
			if matches(r.Target, desired) {
				for _, p := range r.Paths {
					removePointer(a, p)
					removePointer(b, p)
				}
			}
		}
		if fields := diffFields(a, b); len(fields) > 0 {
			drifted = append(drifted, Object{ID: id, Fields: fields, obj: desired, ri: ri})
		}
	}
	return drifted, nil
}

// Correct applies the drifted objects' manifest state with server-side
// apply, taking over the fields another manager changed.
func Correct(ctx context.Context, drifted []Object) error {
	for _, d := range drifted {
		if _, err := d.ri.Apply(ctx, d.obj.GetName(), d.obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
			return fmt.Errorf("correcting %s: %w", d.ID, err)
		}
	}
	return nil
}

func setOwnership(u *unstructured.Unstructured, rls Release) {
	l := u.GetLabels()
	if l == nil {
		l = map[string]string{}
	}
	l[managedByLabel] = "Helm"
	u.SetLabels(l)
	a := u.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[releaseNameAnnotation] = rls.Name
	a[releaseNamespaceAnnotation] = rls.Namespace
	u.SetAnnotations(a)
}

func disabled(u *unstructured.Unstructured) bool {
	return strings.EqualFold(u.GetLabels()[helmv2.DriftDetectionMetadataKey], helmv2.DriftDetectionDisabledValue) ||
		strings.EqualFold(u.GetAnnotations()[helmv2.DriftDetectionMetadataKey], helmv2.DriftDetectionDisabledValue)
}

// normalize drops what changes without anyone editing the object.
func normalize(obj map[string]any) map[string]any {
	out := runtimeCopy(obj)
	delete(out, "status")
	if md, ok := out["metadata"].(map[string]any); ok {
		for _, k := range []string{"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp"} {
			delete(md, k)
		}
	}
	return out
}

func runtimeCopy(m map[string]any) map[string]any {
	return (&unstructured.Unstructured{Object: m}).DeepCopy().Object
}

// diffFields lists the dotted paths (two levels deep) that differ.
func diffFields(a, b map[string]any) []string {
	var out []string
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	for k := range keys {
		am, aok := a[k].(map[string]any)
		bm, bok := b[k].(map[string]any)
		if aok && bok {
			for _, sub := range diffFields(am, bm) {
				if strings.Count(sub, ".") == 0 {
					out = append(out, k+"."+sub)
				} else {
					out = append(out, k+"."+strings.SplitN(sub, ".", 2)[0])
				}
			}
			continue
		}
		if !reflect.DeepEqual(a[k], b[k]) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return dedupe(out)
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// matches reports whether an ignore rule's target selects obj: nil
// selects everything; group, version and kind match exactly, name and
// namespace as anchored regular expressions, and label and annotation
// selectors as Kubernetes selectors.
func matches(t *kustomize.Selector, obj *unstructured.Unstructured) bool {
	if t == nil {
		return true
	}
	gvk := obj.GroupVersionKind()
	if (t.Group != "" && t.Group != gvk.Group) || (t.Version != "" && t.Version != gvk.Version) || (t.Kind != "" && t.Kind != gvk.Kind) {
		return false
	}
	if !matchRegex(t.Name, obj.GetName()) || !matchRegex(t.Namespace, obj.GetNamespace()) {
		return false
	}
	return matchSelector(t.LabelSelector, obj.GetLabels()) && matchSelector(t.AnnotationSelector, obj.GetAnnotations())
}

func matchRegex(expr, s string) bool {
	if expr == "" {
		return true
	}
	re, err := regexp.Compile("^(?:" + expr + ")$")
	return err == nil && re.MatchString(s)
}

func matchSelector(expr string, set map[string]string) bool {
	if expr == "" {
		return true
	}
	sel, err := labels.Parse(expr)
	return err == nil && sel.Matches(labels.Set(set))
}

// removePointer deletes the value at an RFC 6901 JSON pointer, if present.
func removePointer(obj map[string]any, pointer string) {
	if pointer == "" || pointer[0] != '/' {
		return
	}
	parts := strings.Split(pointer[1:], "/")
	for i := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(parts[i], "~1", "/"), "~0", "~")
	}
	var cur any = obj
	for i, p := range parts {
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				delete(c, p)
				return
			}
			cur = c[p]
		case []any:
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || n >= len(c) {
				return
			}
			if last {
				c[n] = nil
				return
			}
			cur = c[n]
		default:
			return
		}
	}
}
