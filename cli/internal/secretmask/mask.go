// Package secretmask hides Secret values in diffs while keeping which keys change.
package secretmask

import (
	"reflect"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Masks shown in place of Secret values, as `flux diff` shows them: a
// value that stays the same is one mask on both sides, a value that
// changes is a different mask on each side, so the diff still says which
// keys change without printing what they hold.
const (
	secretMask       = "***"
	secretMaskBefore = "*** (before)"
	secretMaskAfter  = "*** (after)"
)

// Mask replaces the values of data and stringData in a pair of
// Secrets (the cluster's and the would-be applied one) with masks. Either
// side may be nil (a Secret to be created); other kinds are left alone.
func Mask(before, after *unstructured.Unstructured) {
	if !isSecret(before) && !isSecret(after) {
		return
	}
	for _, field := range []string{"data", "stringData"} {
		b, a := secretValues(before, field), secretValues(after, field)
		for k, bv := range b {
			av, ok := a[k]
			switch {
			case !ok:
				b[k] = secretMask
			case reflect.DeepEqual(av, bv):
				b[k], a[k] = secretMask, secretMask
			default:
				b[k], a[k] = secretMaskBefore, secretMaskAfter
			}
		}
		for k := range a {
			if _, ok := b[k]; !ok {
				a[k] = secretMask
			}
		}
		setSecretValues(before, field, b)
		setSecretValues(after, field, a)
	}
}

func isSecret(u *unstructured.Unstructured) bool {
	return u != nil && u.GetKind() == "Secret" && u.GroupVersionKind().Group == ""
}

// secretValues is the map at field (nil when absent or not a map).
func secretValues(u *unstructured.Unstructured, field string) map[string]any {
	if u == nil {
		return nil
	}
	m, _ := u.Object[field].(map[string]any)
	return m
}

// setSecretValues writes m back, keeping an absent field absent; a field
// of another shape than a map is dropped so nothing unmasked remains.
func setSecretValues(u *unstructured.Unstructured, field string, m map[string]any) {
	if u == nil {
		return
	}
	if m != nil {
		u.Object[field] = m
	} else if _, ok := u.Object[field]; ok {
		delete(u.Object, field)
	}
}
