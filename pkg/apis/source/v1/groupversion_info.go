// Package v1 holds the API types of the source.toolkit.fluxcd.io/v1 group:
// the kinds that turn Git repositories, OCI artifacts, Helm repositories and
// charts and object storage buckets into downloadable artifacts.
//
// +kubebuilder:object:generate=true
// +groupName=source.toolkit.fluxcd.io
package v1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of the kinds in this package.
	GroupVersion = schema.GroupVersion{Group: "source.toolkit.fluxcd.io", Version: "v1"}

	// SchemeBuilder collects the kinds of this package for a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme registers the kinds of this package in a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
