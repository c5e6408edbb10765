package reconcile

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestAPIUnavailable(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	cm := schema.GroupResource{Resource: "configmaps"}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"dial refused", dial, true},
		{"wrapped dial refused", fmt.Errorf("patching ConfigMap a: %w", dial), true},
		{"reset", &net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}}, true},
		{"flattened by a library", errors.New(`cannot patch "rel-config" with kind ConfigMap: Patch "https://127.0.0.1:6443/api/v1/namespaces/a/configmaps/rel-config": dial tcp 127.0.0.1:6443: connect: connection refused`), true},
		{"service unavailable", apierrors.NewServiceUnavailable("starting"), true},
		{"server timeout", apierrors.NewServerTimeout(cm, "get", 1), true},
		{"too many requests", apierrors.NewTooManyRequests("slow down", 1), true},
		{"not found", apierrors.NewNotFound(cm, "a"), false},
		{"forbidden", apierrors.NewForbidden(cm, "a", errors.New("no RBAC")), false},
		{"invalid", apierrors.NewBadRequest("spec.replicas: must be a number"), false},
		{"template error", errors.New(`template: app/templates/cm.yaml:4:3: executing "x": nil pointer`), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := APIUnavailable(tc.err); got != tc.want {
				t.Errorf("APIUnavailable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
