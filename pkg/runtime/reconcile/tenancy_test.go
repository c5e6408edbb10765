package reconcile

import (
	"errors"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/apis/acl"
	"github.com/fluxcd/pkg/apis/meta"
)

func TestCrossNamespaceRef(t *testing.T) {
	for _, tc := range []struct {
		name        string
		refuse      bool
		namespace   string
		wantRefused bool
	}{
		{name: "same namespace, locked down", refuse: true, namespace: "tenant-a"},
		{name: "namespace left empty, locked down", refuse: true, namespace: ""},
		{name: "other namespace, open", refuse: false, namespace: "tenant-b"},
		{name: "other namespace, locked down", refuse: true, namespace: "tenant-b", wantRefused: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CrossNamespaceRef(tc.refuse, "tenant-a", "spec.sourceRef", "GitRepository", tc.namespace, "repo")
			if !tc.wantRefused {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Class != Stalling || e.Reason != acl.AccessDeniedReason {
				t.Fatalf("error %#v, want a Stalling %s error", err, acl.AccessDeniedReason)
			}
			for _, want := range []string{"spec.sourceRef", "GitRepository tenant-b/repo", "--no-cross-namespace-refs"} {
				if !strings.Contains(e.Error(), want) {
					t.Errorf("message %q does not name %q", e.Error(), want)
				}
			}
		})
	}
}

func TestFeatureGateDisabled(t *testing.T) {
	var e *Error
	err := FeatureGateDisabled("ObjectLevelWorkloadIdentity", "spec.kubeConfig.configMapRef")
	if !errors.As(err, &e) || e.Class != Stalling || e.Reason != meta.FeatureGateDisabledReason {
		t.Fatalf("error %#v, want a Stalling FeatureGateDisabled error", err)
	}
	if !strings.Contains(e.Error(), "--feature-gates=ObjectLevelWorkloadIdentity=true") {
		t.Errorf("message %q does not say how to enable the gate", e.Error())
	}
}
