package health

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestReplicasMessage(t *testing.T) {
	dep := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"spec":   map[string]any{"replicas": int64(3)},
		"status": map[string]any{"availableReplicas": int64(1)},
	}}
	if got := replicas(dep); got != "1 of 3 replicas available" {
		t.Fatalf("got %q", got)
	}
	cm := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap"}}
	if got := replicas(cm); got != "" {
		t.Fatalf("got %q for a ConfigMap", got)
	}
}
