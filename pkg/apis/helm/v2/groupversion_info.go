// Package v2 holds the HelmRelease API of gotk, served as
// helm.toolkit.fluxcd.io/v2 so that Flux v2 manifests apply unchanged.
// +kubebuilder:object:generate=true
// +groupName=helm.toolkit.fluxcd.io
package v2

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API group and version of the types in this package.
	GroupVersion = schema.GroupVersion{Group: "helm.toolkit.fluxcd.io", Version: "v2"}

	// SchemeBuilder collects the kinds of this group for registration in a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme registers the kinds of this group in a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
