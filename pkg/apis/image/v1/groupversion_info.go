// Package v1 holds the image.toolkit.fluxcd.io/v1 API types: ImageRepository,
// ImagePolicy and ImageUpdateAutomation. The CRDs also serve v1beta2 from the
// same schema for manifests written against older Flux releases.
// +kubebuilder:object:generate=true
// +groupName=image.toolkit.fluxcd.io
package v1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API group and version of the types in this package.
	GroupVersion = schema.GroupVersion{Group: "image.toolkit.fluxcd.io", Version: "v1"}

	// SchemeBuilder collects the types of this package for registration in a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme registers the types of this package in a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
