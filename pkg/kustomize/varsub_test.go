package kustomize

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestSubstituteString(t *testing.T) {
	vars := map[string]string{"name": "app", "empty": "", "n": "3"}
	tests := []struct {
		in, want string
		undef    []string
		strict   bool
		wantErr  string
	}{
		{in: "no refs $name", want: "no refs $name"},
		{in: "${name}-x", want: "app-x"},
		{in: "${missing:=def}", want: "def"},
		{in: "${empty:=def}", want: "def"},
		{in: "${empty=def}", want: ""},
		{in: "${missing-d}", want: "d"},
		{in: "${name:-d}", want: "app"},
		{in: "${missing:=${name}-2}", want: "app-2"},
		{in: "$${name}", want: "${name}"},
		{in: "${missing}", want: "", undef: []string{"missing"}},
		{in: "a ${missing} b", want: "a ${missing} b", undef: []string{"missing"}, strict: true},
		{in: "${bad name}", wantErr: "invalid variable reference"},
		{in: "${1x}", wantErr: "invalid variable reference"},
		{in: "${name", wantErr: "unterminated"},
		{in: "${name:?err}", wantErr: "unsupported operator"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			g := NewWithT(t)
			out, undef, err := SubstituteString(tt.in, vars, tt.strict)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(out).To(Equal(tt.want))
			g.Expect(undef).To(Equal(tt.undef))
		})
	}
}

func TestSubstituteObjects(t *testing.T) {
	g := NewWithT(t)
	mk := func(name string, ann map[string]string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name, "namespace": "ns"},
			"data":     map[string]any{"replicas": "${replicas:=1}", "env": "${cluster_env}"},
		}}
		u.SetAnnotations(ann)
		return u
	}
	objs := []*unstructured.Unstructured{mk("a", nil), mk("b", map[string]string{"kustomize.toolkit.fluxcd.io/substitute": "Disabled"})}
	g.Expect(Substitute(objs, map[string]string{"cluster_env": "prod"}, true)).To(Succeed())
	// As in Flux, an unquoted result is typed by YAML: quote in the source to keep a string.
	g.Expect(objs[0].Object["data"]).To(Equal(map[string]any{"replicas": int64(1), "env": "prod"}))
	g.Expect(objs[1].Object["data"]).To(Equal(map[string]any{"replicas": "${replicas:=1}", "env": "${cluster_env}"}))

	err := Substitute([]*unstructured.Unstructured{mk("c", nil)}, map[string]string{"secret_value": "hunter2"}, true)
	g.Expect(err).To(MatchError(ContainSubstring("ConfigMap/ns/c")))
	g.Expect(err).To(MatchError(ContainSubstring("cluster_env")))
	g.Expect(err.Error()).NotTo(ContainSubstring("hunter2"))
}

func FuzzSubstituteString(f *testing.F) {
	for _, s := range []string{"${a}", "${a:=b}", "$${a}", "${a:=${b:-c}}", "${", "${}", "}${a", "${a-${", "x${a=}y"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, strict bool) {
		out, _, err := SubstituteString(s, map[string]string{"a": "A", "b": ""}, strict)
		if err == nil && !strings.Contains(s, "${") && out != s {
			t.Fatalf("text without references changed: %q -> %q", s, out)
		}
	})
}
