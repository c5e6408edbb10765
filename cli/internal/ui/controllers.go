package ui

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/install"
)

// controller is one toolkit controller's Deployment as the overview shows it.
type controller struct {
	Name, State, Detail string
}

// Controller states.
const (
	controllerReady    = "Ready"
	controllerNotReady = "NotReady"
	controllerAbsent   = "Absent"
	controllerUnknown  = "Unknown"
)

// controllers reads each toolkit controller's Deployment in the system
// namespace: ready when every desired replica of its latest generation
// is available. A controller that is not installed is Absent; one the
// identity may not read is Unknown.
func (s *Server) controllers(ctx context.Context) []controller {
	var out []controller
	for _, name := range install.Components {
		c := controller{Name: name}
		dep := &appsv1.Deployment{}
		err := s.client(ctx).Get(ctx, client.ObjectKey{Namespace: s.opts.SystemNamespace, Name: name}, dep)
		switch {
		case apierrors.IsNotFound(err):
			c.State, c.Detail = controllerAbsent, "not installed in "+s.opts.SystemNamespace
		case err != nil:
			c.State, c.Detail = controllerUnknown, err.Error()
		default:
			c.State, c.Detail = deploymentState(dep)
		}
		out = append(out, c)
	}
	return out
}

func deploymentState(dep *appsv1.Deployment) (string, string) {
	want := int32(1)
	if dep.Spec.Replicas != nil {
		want = *dep.Spec.Replicas
	}
	st := dep.Status
	detail := fmt.Sprintf("%d/%d replicas available", st.AvailableReplicas, want)
	if st.ObservedGeneration >= dep.Generation && st.UpdatedReplicas >= want && st.AvailableReplicas >= want && want > 0 {
		return controllerReady, detail
	}
	return controllerNotReady, detail
}
