package kustomize

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

// Excluded reports whether the object's annotations exclude it from the
// apply (reconcile: disabled, or ssa: Ignore): kustomize-controller never
// applies it, so a diff never shows it.
func Excluded(u *unstructured.Unstructured) bool {
	a := u.GetAnnotations()
	return strings.EqualFold(a[kustomizev1.ReconcileAnnotation], kustomizev1.DisabledValue) ||
		strings.EqualFold(a[kustomizev1.SSAAnnotation], kustomizev1.IgnoreValue)
}

// OnlyIfAbsent reports whether the object is applied only when it does
// not exist yet (ssa: IfNotPresent).
func OnlyIfAbsent(u *unstructured.Unstructured) bool {
	return strings.EqualFold(u.GetAnnotations()[kustomizev1.SSAAnnotation], kustomizev1.IfNotPresentValue)
}
