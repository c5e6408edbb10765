package fieldcoverage

import (
	"reflect"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"

	"gotk.dev/pkg/apis"
)

// apiPkgPrefix marks the struct types the walk descends into; any other
// type (metav1.Duration, fluxcd/pkg references, JSON) is one field.
const apiPkgPrefix = "gotk.dev/pkg/apis/"

// field is one spec field: its path of JSON names under the kind and the
// Go name controller code reads it by.
type field struct {
	path   string // e.g. Kustomization.spec.decryption.secretRef
	goName string // e.g. SecretRef
	// owner is the API struct field itself (e.g. KustomizationDecryption
	// .SecretRef), so reads are matched per kind, not by name.
	owner fieldKey
}

// specFields walks the spec of every gotk kind the scheme knows (one
// version per kind: the storage one), by reflection over the Go types.
func specFields() ([]field, error) {
	s := runtime.NewScheme()
	if err := apis.AddToScheme(s); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []field
	for gvk, t := range s.AllKnownTypes() {
		if strings.HasSuffix(gvk.Kind, "List") || !strings.HasPrefix(t.PkgPath(), apiPkgPrefix) {
			continue
		}
		if seen[gvk.Kind] {
			continue
		}
		sf, ok := t.FieldByName("Spec")
		if !ok {
			continue
		}
		seen[gvk.Kind] = true
		walk(gvk.Kind+".spec", sf.Type, &out, map[reflect.Type]bool{})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

func walk(prefix string, t reflect.Type, out *[]field, stack map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || stack[t] {
		return
	}
	stack[t] = true
	defer delete(stack, t)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" { // inlined
			walk(prefix, f.Type, out, stack)
			continue
		}
		path := prefix + "." + name
		inner := f.Type
		for inner.Kind() == reflect.Pointer || inner.Kind() == reflect.Slice || inner.Kind() == reflect.Map {
			inner = inner.Elem()
		}
		if inner.Kind() == reflect.Struct && strings.HasPrefix(inner.PkgPath(), apiPkgPrefix) {
			walk(path, inner, out, stack)
			continue
		}
		*out = append(*out, field{path: path, goName: f.Name, owner: fieldKey{pkg: t.PkgPath(), typ: t.Name(), name: f.Name}})
	}
}
