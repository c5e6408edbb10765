// Package v1beta1 holds the API types of the source.extensions.fluxcd.io/v1beta1
// group: the ArtifactGenerator, which composes and splits source artifacts
// into ExternalArtifacts. Flux ships it as source-watcher; gotk's
// source-controller serves it from its own artifact storage.
//
// +kubebuilder:object:generate=true
// +groupName=source.extensions.fluxcd.io
package v1beta1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of the kinds in this package.
	GroupVersion = schema.GroupVersion{Group: "source.extensions.fluxcd.io", Version: "v1beta1"}

	// SchemeBuilder collects the kinds of this package for a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme registers the kinds of this package in a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
