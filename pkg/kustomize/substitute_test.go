package kustomize

import (
	"context"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

// buildValue builds one ConfigMap whose data.v is value (YAML text as
// written in the file) with substitution s, and returns data.v.
func buildValue(t *testing.T, value string, s *Substitution) (any, error) {
	t.Helper()
	objs, err := Build(files(t, map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: ns\ndata:\n  v: " + value + "\n"}),
		Options{Substitution: s})
	if err != nil {
		return nil, err
	}
	return objs[0].Object["data"].(map[string]any)["v"], nil
}

// framed writes s as a YAML single-quoted scalar between "<" and ">",
// so that every result stays a string.
func framed(s string) string { return "'<" + strings.ReplaceAll(s, "'", "''") + ">'" }

// TestSubstituteOperators is a table of Flux's envsubst operators, each
// run strict and non-strict: the value forms read the variable, the
// default forms supply their own value when it is unset.
func TestSubstituteOperators(t *testing.T) {
	vars := map[string]string{"name": "app", "empty": "", "long": "hello-world", "path": "a/b/c.txt", "Mixed": "hELLO"}
	tests := []struct {
		in, want string
		// strictErr is strict mode's error for an undefined variable
		// (then non-strict gives want).
		strictErr string
		// err is a malformed expression's error, in both modes.
		err string
	}{
		{in: "plain text", want: "plain text"},
		{in: "$name stays", want: "$name stays"},
		{in: "${name}-x", want: "app-x"},
		{in: "${name^^}", want: "APP"},
		{in: "${name^}", want: "App"},
		{in: "${Mixed,,}", want: "hello"},
		{in: "${Mixed,}", want: "hELLO"},
		{in: "${#long}", want: "11"},
		{in: "${long:0:5}", want: "hello"},
		{in: "${long:6}", want: "world"},
		{in: "${long/o/0}", want: "hell0-world"},
		{in: "${long//o/0}", want: "hell0-w0rld"},
		{in: "${long/#hello/bye}", want: "bye-world"},
		{in: "${long/%world/moon}", want: "hello-moon"},
		{in: "${path#*/}", want: "b/c.txt"},
		{in: "${path##*/}", want: "c.txt"},
		{in: "${path%.*}", want: "a/b/c"},
		{in: "${path%%/*}", want: "a"},
		{in: "${missing:=def}", want: "def"},
		{in: "${missing:-def}", want: "def"},
		{in: "${missing=def}", want: "def"},
		{in: "${empty:=def}", want: "def"},
		{in: "${name:-def}", want: "app"},
		{in: "${missing:-${name}-2}", want: "app-2"},
		{in: "${missing:+alt}", want: "alt"},
		{in: "${missing:?message}", want: "message"},
		{in: "$${name}", want: "${name}"},
		{in: "cost: $$5", want: "cost: $5"},
		{in: "${empty}", want: ""},
		{in: "${missing}", want: "", strictErr: `variable not set (strict mode): "missing"`},
		{in: "a ${missing^^} b", want: "a  b", strictErr: `"missing"`},
		{in: "${missing:0:2}", want: "", strictErr: `"missing"`},
		{in: "${name", err: "missing closing brace"},
		{in: "${}", err: "unable to parse variable name"},
		// Flux's envsubst has no ${var-default} form (only with a colon).
		{in: "${missing-def}", err: "missing closing brace"},
	}
	for _, tt := range tests {
		for _, strict := range []bool{false, true} {
			name := tt.in
			if strict {
				name += " strict"
			}
			t.Run(name, func(t *testing.T) {
				g := NewWithT(t)
				got, err := buildValue(t, framed(tt.in), &Substitution{Vars: vars, Strict: strict})
				switch {
				case tt.err != "":
					g.Expect(err).To(MatchError(ContainSubstring(tt.err)))
				case strict && tt.strictErr != "":
					g.Expect(err).To(MatchError(ContainSubstring(tt.strictErr)))
					g.Expect(err).To(MatchError(ContainSubstring("ConfigMap/ns/c")))
				default:
					g.Expect(err).NotTo(HaveOccurred())
					g.Expect(got).To(Equal("<" + tt.want + ">"))
				}
			})
		}
	}
}

// TestSubstituteObjects: opt-outs by label or annotation (Flux's exact
// value), commonMetadata substituted too, YAML typing of unquoted
// results, and errors that name the object and the variable but never
// a value.
func TestSubstituteObjects(t *testing.T) {
	g := NewWithT(t)
	obj := func(name, meta string) string {
		return "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n" + meta +
			"data:\n  env: ${cluster_env}\n  replicas: ${replicas:=1}\n  quoted: \"${replicas:=1}\"\n"
	}
	f := files(t, map[string]string{"cm.yaml": obj("s", "") +
		obj("a", "  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\n") +
		obj("l", "  labels:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\n") +
		obj("o", "  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: Disabled\n")})
	objs, err := Build(f, Options{
		CommonMetadata: &kustomizev1.CommonMetadata{Labels: map[string]string{"env": "${cluster_env}"}},
		Substitution:   &Substitution{Vars: map[string]string{"cluster_env": "prod"}, Strict: true},
	})
	g.Expect(err).NotTo(HaveOccurred())
	byName := map[string]*unstructured.Unstructured{}
	for _, u := range objs {
		byName[u.GetName()] = u
	}
	// As in Flux, the object is substituted as kustomize prints it, so
	// quotes in the sources are gone and a number-like result is a number.
	substituted := map[string]any{"env": "prod", "replicas": int64(1), "quoted": int64(1)}
	untouched := map[string]any{"env": "${cluster_env}", "replicas": "${replicas:=1}", "quoted": "${replicas:=1}"}
	g.Expect(byName["s"].Object["data"]).To(Equal(substituted))
	g.Expect(byName["s"].GetLabels()).To(HaveKeyWithValue("env", "prod"))
	g.Expect(byName["a"].Object["data"]).To(Equal(untouched))
	g.Expect(byName["l"].Object["data"]).To(Equal(untouched))
	g.Expect(byName["o"].Object["data"]).To(Equal(substituted), "Flux matches the value exactly")

	_, err = Build(files(t, map[string]string{"cm.yaml": obj("c", "")}),
		Options{Substitution: &Substitution{Vars: map[string]string{"secret_value": "hunter2"}, Strict: true}})
	g.Expect(err).To(MatchError(ContainSubstring("ConfigMap/c")))
	g.Expect(err).To(MatchError(ContainSubstring(`"cluster_env"`)))
	g.Expect(err.Error()).NotTo(ContainSubstring("hunter2"))

	for _, bad := range []string{"1x", "a-b", "ä"} {
		_, err = buildValue(t, "x", &Substitution{Vars: map[string]string{bad: "v"}})
		g.Expect(err).To(MatchError(ContainSubstring(`variable name "` + bad + `" is invalid, must match`)))
	}
}

// TestSubstitutePostBuild: the shared set-up of the controller and the
// CLI: inline variables lose their newlines, names are checked, and the
// strategy decides whether text without variables is substituted.
func TestSubstitutePostBuild(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		pb     *kustomizev1.PostBuild
		strict bool
		want   string
		err    string
	}{
		{name: "no postBuild", want: "${a:=x}-${b}"},
		{name: "no variables: left alone", pb: &kustomizev1.PostBuild{}, want: "${a:=x}-${b}"},
		{name: "Always without variables", pb: &kustomizev1.PostBuild{SubstituteStrategy: kustomizev1.SubstituteStrategyAlways}, want: "x-"},
		{name: "Always strict", pb: &kustomizev1.PostBuild{SubstituteStrategy: kustomizev1.SubstituteStrategyAlways}, strict: true, err: `"b"`},
		{name: "newlines dropped", pb: &kustomizev1.PostBuild{Substitute: map[string]string{"b": "multi\nline\n"}}, want: "x-multiline"},
		{name: "invalid inline name", pb: &kustomizev1.PostBuild{Substitute: map[string]string{"b.c": "v"}}, err: `postBuild.substitute: "b.c" is not a valid variable name`},
		{name: "sources unread without a cluster", pb: &kustomizev1.PostBuild{Substitute: map[string]string{"b": "y"},
			SubstituteFrom: []kustomizev1.SubstituteReference{{Kind: "ConfigMap", Name: "absent"}}}, want: "x-y"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			s, err := PostBuildSubstitution(ctx, nil, "ns", tc.pb, tc.strict)
			if err == nil {
				var got any
				got, err = buildValue(t, `"${a:=x}-${b}"`, s)
				if tc.err == "" {
					g.Expect(got).To(Equal(tc.want))
				}
			}
			if tc.err != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.err)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
		})
	}
}

// FuzzSubstitute runs arbitrary text through the envsubst parser: never
// a panic, text without "$" unchanged, and a strict failure never quotes
// a value.
func FuzzSubstitute(f *testing.F) {
	for _, s := range []string{"${a}", "${a:=b}", "$${a}", "${a:=${b:-c}}", "${", "${}", "}${a", "${a-${", "x${a=}y",
		"${a^^}", "${a:0:3}", "${a/x/y}", "${#a}", "${a##*/}", "$$", "${a:", "${a/", "${a:-"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, strict bool) {
		sub := &Substitution{Vars: map[string]string{"a": "SECRETVALUE", "b": ""}, Strict: strict}
		out, err := sub.Text(s)
		if err != nil && strings.Contains(err.Error(), "SECRETVALUE") {
			t.Fatalf("error quotes a value: %v", err)
		}
		if err == nil && !strings.Contains(s, "$") && out != s {
			t.Fatalf("text without references changed: %q -> %q", s, out)
		}
	})
}
