package fleet

import (
	"fmt"

	helmcommon "helm.sh/helm/v4/pkg/chart/common"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
)

// Finding classes of API versions a Kubernetes release no longer serves
// or is about to stop serving.
const (
	ClassRemovedAPI    = "removed-api"
	ClassDeprecatedAPI = "deprecated-api"
)

// lifecycle is the life of a Kubernetes API version as the Kubernetes
// API types declare it (the data the API server's deprecation warnings
// come from).
type lifecycle struct {
	deprecated, removed [2]int
	replacement         schema.GroupVersionKind
}

// lifecycleOf returns the lifecycle of obj's kind and version when
// Kubernetes declares one (beta and alpha versions of built-in kinds).
func lifecycleOf(obj *unstructured.Unstructured) (*lifecycle, bool) {
	typed, err := scheme.Scheme.New(obj.GroupVersionKind())
	if err != nil {
		return nil, false
	}
	removed, ok := typed.(interface{ APILifecycleRemoved() (int, int) })
	if !ok {
		return nil, false
	}
	l := &lifecycle{}
	l.removed[0], l.removed[1] = removed.APILifecycleRemoved()
	if d, ok := typed.(interface{ APILifecycleDeprecated() (int, int) }); ok {
		l.deprecated[0], l.deprecated[1] = d.APILifecycleDeprecated()
	}
	if r, ok := typed.(interface {
		APILifecycleReplacement() schema.GroupVersionKind
	}); ok {
		l.replacement = r.APILifecycleReplacement()
	}
	return l, true
}

// atOrBefore tells whether release v (major, minor) is reached at kv.
func atOrBefore(v [2]int, kv *helmcommon.KubeVersion) bool {
	if v == [2]int{} {
		return false
	}
	var major, minor int
	fmt.Sscanf(kv.Major, "%d", &major) //nolint:errcheck // parsed by ParseKubeVersion
	fmt.Sscanf(kv.Minor, "%d", &minor) //nolint:errcheck // parsed by ParseKubeVersion
	return major > v[0] || major == v[0] && minor >= v[1]
}

// use says what to use instead.
func (l *lifecycle) use() string {
	if l.replacement.Empty() {
		return "move to a served version"
	}
	return "use " + l.replacement.GroupVersion().String() + " " + l.replacement.Kind
}

// removedMessage explains a version that is removed.
func (l *lifecycle) removedMessage(obj *unstructured.Unstructured) string {
	return fmt.Sprintf("%s %s was removed in Kubernetes %d.%d (deprecated in %d.%d): %s",
		obj.GetAPIVersion(), obj.GetKind(), l.removed[0], l.removed[1], l.deprecated[0], l.deprecated[1], l.use())
}

// apiVersionFinding judges obj's API version at --kube-version kv: a
// version removed by then (class removed-api) or deprecated by then
// (deprecated-api); "" when it is fine or Kubernetes declares no lifecycle.
func apiVersionFinding(obj *unstructured.Unstructured, kv *helmcommon.KubeVersion) (class, msg string) {
	l, ok := lifecycleOf(obj)
	switch {
	case !ok || kv == nil:
		return "", ""
	case atOrBefore(l.removed, kv):
		return ClassRemovedAPI, l.removedMessage(obj)
	case atOrBefore(l.deprecated, kv):
		return ClassDeprecatedAPI, fmt.Sprintf("%s %s is deprecated in Kubernetes %s.%s and removed in %d.%d: %s",
			obj.GetAPIVersion(), obj.GetKind(), kv.Major, kv.Minor, l.removed[0], l.removed[1], l.use())
	}
	return "", ""
}
