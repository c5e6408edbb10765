// Package apis holds every gotk API group (Flux v2 compatible) and builds
// the scheme that knows them.
package apis

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	imagev1 "gotk.dev/pkg/apis/image/v1"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	notificationv1 "gotk.dev/pkg/apis/notification/v1"
	notificationv1beta3 "gotk.dev/pkg/apis/notification/v1beta3"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	sourceextv1beta1 "gotk.dev/pkg/apis/sourceextensions/v1beta1"
)

var groups = runtime.NewSchemeBuilder(
	sourcev1.AddToScheme,
	kustomizev1.AddToScheme,
	helmv2.AddToScheme,
	imagev1.AddToScheme,
	notificationv1.AddToScheme,
	notificationv1beta3.AddToScheme,
	sourceextv1beta1.AddToScheme,
)

// AddToScheme registers every gotk API group.
func AddToScheme(s *runtime.Scheme) error { return groups.AddToScheme(s) }

// NewScheme returns a scheme with the core Kubernetes kinds, CRDs and every gotk kind.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := apiextensionsv1.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// MustNewScheme is NewScheme for program start-up.
func MustNewScheme() *runtime.Scheme {
	s, err := NewScheme()
	utilruntime.Must(err)
	return s
}
