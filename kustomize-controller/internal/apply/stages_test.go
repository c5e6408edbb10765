package apply

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestParseStageKinds(t *testing.T) {
	got, err := ParseStageKinds(" Role, rbac.authorization.k8s.io/RoleBinding,,/ConfigMap ")
	if err != nil {
		t.Fatal(err)
	}
	want := []StageKind{{Kind: "Role", AnyGroup: true}, {Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}, {Group: "", Kind: "ConfigMap"}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("entry %d: got %v, want %v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"rbac/", "a/b/C", "Ro le"} {
		if _, err := ParseStageKinds(bad); err == nil || !strings.Contains(err.Error(), "not a Kind or group/Kind") {
			t.Errorf("%q: error %v", bad, err)
		}
	}
}

func TestStageOf(t *testing.T) {
	m := &Manager{CustomStageKinds: []StageKind{{Kind: "Role", AnyGroup: true}, {Group: "example.com", Kind: "Gadget"}, {Kind: "ConfigMap"}}}
	for _, tc := range []struct {
		apiVersion, kind string
		want             int
	}{
		{"apiextensions.k8s.io/v1", "CustomResourceDefinition", stageDefinitions},
		{"v1", "Namespace", stageDefinitions},
		{"rbac.authorization.k8s.io/v1", "ClusterRole", stageDefinitions},
		{"rbac.authorization.k8s.io/v1", "Role", stageCustom},
		{"example.com/v1", "Gadget", stageCustom},
		{"other.com/v1", "Gadget", stageRest},
		{"v1", "ConfigMap", stageCustom},
		{"storage.k8s.io/v1", "StorageClass", stageClasses},
		{"apps/v1", "Deployment", stageRest},
	} {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(tc.apiVersion)
		u.SetKind(tc.kind)
		if got := m.stageOf(u); got != tc.want {
			t.Errorf("%s %s: stage %d, want %d", tc.apiVersion, tc.kind, got, tc.want)
		}
	}
}
