// Package v1 holds the Kustomization API of gotk, served as
// kustomize.toolkit.fluxcd.io/v1 so that Flux v2 manifests apply unchanged.
// +kubebuilder:object:generate=true
// +groupName=kustomize.toolkit.fluxcd.io
package v1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API group and version of the types in this package.
	GroupVersion = schema.GroupVersion{Group: "kustomize.toolkit.fluxcd.io", Version: "v1"}

	// SchemeBuilder collects the kinds of this group for registration in a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme registers the kinds of this group in a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
