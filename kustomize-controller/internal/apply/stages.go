package apply

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// stageOf orders objects as Flux does: definitions and scopes first
// (CRDs, Namespaces, ClusterRoles), then *Class kinds, then the rest, so
// every object finds its kind, namespace and class already served.
func stageOf(u *unstructured.Unstructured) int {
	gk := u.GroupVersionKind().GroupKind()
	switch {
	case gk.Kind == "CustomResourceDefinition" && gk.Group == "apiextensions.k8s.io",
		gk.Kind == "Namespace" && gk.Group == "",
		gk.Kind == "ClusterRole" && gk.Group == "rbac.authorization.k8s.io":
		return 0
	case strings.HasSuffix(gk.Kind, "Class"):
		return 1
	default:
		return 2
	}
}

// stages splits objs into the apply stages, keeping their order.
func stages(objs []*unstructured.Unstructured) [3][]*unstructured.Unstructured {
	var out [3][]*unstructured.Unstructured
	for _, u := range objs {
		s := stageOf(u)
		out[s] = append(out[s], u)
	}
	return out
}
