package apply

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/pkg/kustomize"
)

// The apply stages, in order.
const (
	stageDefinitions = iota // CRDs, Namespaces, ClusterRoles
	stageCustom             // --custom-apply-stage-kinds, waited for
	stageClasses            // *Class kinds
	stageRest
	numStages
)

// StageKind is a kind applied in the custom stage: after the definitions
// (so it finds its CRD and namespace) and ready before anything else, e.g.
// a Role before the RoleBinding an impersonated account may only create
// once the Role exists.
type StageKind struct {
	// Group is the API group ("" is the core group).
	Group string
	// Kind is the kind's name.
	Kind string
	// AnyGroup matches Kind in every group (the entry named no group).
	AnyGroup bool
}

func (k StageKind) String() string {
	if k.AnyGroup {
		return k.Kind
	}
	return k.Group + "/" + k.Kind
}

// ParseStageKinds reads a comma-separated list of Kind or group/Kind.
func ParseStageKinds(s string) ([]StageKind, error) {
	var out []StageKind
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		k := StageKind{Kind: f, AnyGroup: true}
		if i := strings.LastIndexByte(f, '/'); i >= 0 {
			k = StageKind{Group: f[:i], Kind: f[i+1:]}
		}
		if k.Kind == "" || strings.ContainsAny(k.Kind, " /") || strings.ContainsAny(k.Group, " /") {
			return nil, fmt.Errorf("%q is not a Kind or group/Kind", f)
		}
		out = append(out, k)
	}
	return out, nil
}

// stageOf orders objects as Flux does: definitions and scopes first
// (CRDs, Namespaces, ClusterRoles), then the custom stage kinds, then
// *Class kinds, then the rest, so every object finds its kind, namespace
// and class already served.
func (m *Manager) stageOf(u *unstructured.Unstructured) int {
	gk := u.GroupVersionKind().GroupKind()
	switch {
	case gk.Kind == "CustomResourceDefinition" && gk.Group == "apiextensions.k8s.io",
		gk.Kind == "Namespace" && gk.Group == "",
		gk.Kind == "ClusterRole" && gk.Group == "rbac.authorization.k8s.io":
		return stageDefinitions
	}
	for _, k := range m.CustomStageKinds {
		if k.Kind == gk.Kind && (k.AnyGroup || k.Group == gk.Group) {
			return stageCustom
		}
	}
	if strings.HasSuffix(gk.Kind, "Class") {
		return stageClasses
	}
	return stageRest
}

// stages splits objs into the apply stages, keeping their order.
func (m *Manager) stages(objs []*unstructured.Unstructured) [numStages][]*unstructured.Unstructured {
	var out [numStages][]*unstructured.Unstructured
	for _, u := range objs {
		s := m.stageOf(u)
		out[s] = append(out[s], u)
	}
	return out
}

// waitReady waits until the applied objects of the custom stage are
// ready for kstatus (Current); a Failed one ends the wait at once.
func (m *Manager) waitReady(ctx context.Context, objs []*unstructured.Unstructured) error {
	for _, u := range objs {
		if kustomize.Excluded(u) {
			continue
		}
		var last string
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, m.stageTimeout(), true, func(ctx context.Context) (bool, error) {
			live := &unstructured.Unstructured{}
			live.SetGroupVersionKind(u.GroupVersionKind())
			if err := m.Client.Get(ctx, client.ObjectKeyFromObject(u), live); err != nil {
				last = err.Error()
				return false, nil
			}
			res, err := status.Compute(live)
			if err != nil {
				last = err.Error()
				return false, nil
			}
			last = res.Message
			switch res.Status {
			case status.CurrentStatus:
				return true, nil
			case status.FailedStatus:
				return false, fmt.Errorf("failed: %s", res.Message)
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("%s (custom apply stage) is not ready: %w (%s)", kustomize.ObjectRef(u), err, last)
		}
	}
	return nil
}
