package secretmask

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func maskTestSecret(fields map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "s", "namespace": "ns"}}}
	for k, v := range fields {
		u.Object[k] = v
	}
	return u
}

func TestMaskSecretData(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		before, after         *unstructured.Unstructured
		wantBefore, wantAfter *unstructured.Unstructured
	}{{
		name:       "unchanged value: same mask on both sides",
		before:     maskTestSecret(map[string]any{"data": map[string]any{"k": "c2VjcmV0"}}),
		after:      maskTestSecret(map[string]any{"data": map[string]any{"k": "c2VjcmV0"}}),
		wantBefore: maskTestSecret(map[string]any{"data": map[string]any{"k": "***"}}),
		wantAfter:  maskTestSecret(map[string]any{"data": map[string]any{"k": "***"}}),
	}, {
		name:       "changed value: before and after masks",
		before:     maskTestSecret(map[string]any{"data": map[string]any{"k": "b2xk", "same": "eA=="}}),
		after:      maskTestSecret(map[string]any{"data": map[string]any{"k": "bmV3", "same": "eA=="}}),
		wantBefore: maskTestSecret(map[string]any{"data": map[string]any{"k": "*** (before)", "same": "***"}}),
		wantAfter:  maskTestSecret(map[string]any{"data": map[string]any{"k": "*** (after)", "same": "***"}}),
	}, {
		name:       "added and removed keys",
		before:     maskTestSecret(map[string]any{"data": map[string]any{"gone": "b2xk"}}),
		after:      maskTestSecret(map[string]any{"data": map[string]any{"added": "bmV3"}}),
		wantBefore: maskTestSecret(map[string]any{"data": map[string]any{"gone": "***"}}),
		wantAfter:  maskTestSecret(map[string]any{"data": map[string]any{"added": "***"}}),
	}, {
		name:       "stringData is masked too",
		before:     maskTestSecret(map[string]any{"stringData": map[string]any{"password": "old"}}),
		after:      maskTestSecret(map[string]any{"stringData": map[string]any{"password": "new"}, "data": map[string]any{"k": "eA=="}}),
		wantBefore: maskTestSecret(map[string]any{"stringData": map[string]any{"password": "*** (before)"}}),
		wantAfter:  maskTestSecret(map[string]any{"stringData": map[string]any{"password": "*** (after)"}, "data": map[string]any{"k": "***"}}),
	}, {
		name:      "a Secret to be created: no cluster side",
		after:     maskTestSecret(map[string]any{"type": "kubernetes.io/dockerconfigjson", "data": map[string]any{".dockerconfigjson": "e30="}}),
		wantAfter: maskTestSecret(map[string]any{"type": "kubernetes.io/dockerconfigjson", "data": map[string]any{".dockerconfigjson": "***"}}),
	}, {
		name:       "data of another shape is dropped",
		before:     maskTestSecret(map[string]any{"data": "not-a-map"}),
		after:      maskTestSecret(map[string]any{"data": nil}),
		wantBefore: maskTestSecret(nil),
		wantAfter:  maskTestSecret(nil),
	}, {
		name: "a ConfigMap is shown as it is",
		before: &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"data": map[string]any{"k": "old"}}},
		after: &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"data": map[string]any{"k": "new"}}},
		wantBefore: &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"data": map[string]any{"k": "old"}}},
		wantAfter: &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"data": map[string]any{"k": "new"}}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			Mask(tc.before, tc.after)
			g.Expect(tc.before).To(Equal(tc.wantBefore))
			g.Expect(tc.after).To(Equal(tc.wantAfter))
		})
	}
}
