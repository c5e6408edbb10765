// Package resourceref resolves the objects a Receiver names in
// spec.resources: it maps the Flux kinds they may have to their API
// versions.
package resourceref

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"

	notificationv1 "gotk.dev/pkg/apis/notification/v1"
)

// DefaultAPIVersions is the apiVersion used for a resource kind when the
// Receiver does not give one.
var DefaultAPIVersions = map[string]string{
	"Bucket": "source.toolkit.fluxcd.io/v1", "GitRepository": "source.toolkit.fluxcd.io/v1",
	"HelmChart": "source.toolkit.fluxcd.io/v1", "HelmRepository": "source.toolkit.fluxcd.io/v1",
	"OCIRepository": "source.toolkit.fluxcd.io/v1", "ExternalArtifact": "source.toolkit.fluxcd.io/v1",
	"Kustomization": "kustomize.toolkit.fluxcd.io/v1", "HelmRelease": "helm.toolkit.fluxcd.io/v2",
	"ImageRepository": "image.toolkit.fluxcd.io/v1", "ImagePolicy": "image.toolkit.fluxcd.io/v1",
	"ImageUpdateAutomation": "image.toolkit.fluxcd.io/v1", "ArtifactGenerator": "source.extensions.fluxcd.io/v1beta1",
}

// ResourceGVK returns the group/version/kind a Receiver resource names.
func ResourceGVK(ref notificationv1.CrossNamespaceObjectReference) (schema.GroupVersionKind, error) {
	av := ref.APIVersion
	if av == "" {
		av = DefaultAPIVersions[ref.Kind]
	}
	if av == "" {
		return schema.GroupVersionKind{}, fmt.Errorf("kind %q needs an apiVersion", ref.Kind)
	}
	gv, err := schema.ParseGroupVersion(av)
	if err != nil {
		return schema.GroupVersionKind{}, fmt.Errorf("apiVersion %q is invalid", av)
	}
	return gv.WithKind(ref.Kind), nil
}
