package kustomize

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/apis/kustomize"
	. "github.com/onsi/gomega"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/testenv"
)

func seedFiles(t *testing.T, repo string) *Files {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	f, err := LoadDir(filepath.Join(root, "examples", "seed", repo), 0)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func files(t *testing.T, m map[string]string) *Files {
	t.Helper()
	b := map[string][]byte{}
	for k, v := range m {
		b[k] = []byte(v)
	}
	f, err := NewFiles(b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

const cm = `apiVersion: v1
kind: ConfigMap
metadata:
  name: %s
data:
  k: v
`

func cmYAML(name string) string { return strings.Replace(cm, "%s", name, 1) }

func TestBuildSeed(t *testing.T) {
	g := NewWithT(t)

	_, err := Build(seedFiles(t, "app-repo"), Options{Path: "./overlays/production"})
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring(`patch file "overlays/production/hpa.yaml"`))
	g.Expect(err.Error()).To(ContainSubstring("patchesStrategicMerge"))
	g.Expect(err.Error()).To(ContainSubstring("list it under resources"))

	objs, err := Build(seedFiles(t, "app-repo-corrected"), Options{Path: "./overlays/production"})
	g.Expect(err).NotTo(HaveOccurred())
	var got []string
	for _, o := range objs {
		got = append(got, ObjectRef(o))
	}
	g.Expect(got).To(ConsistOf("Namespace/production", "Service/production/my-app",
		"Deployment/production/my-app", "HorizontalPodAutoscaler/production/my-app"))
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			img, _, _ := unstructuredString(o.Object, "spec", "template", "spec", "containers")
			g.Expect(img).To(ContainSubstring("ghcr.io/myorg/my-app:v1.2.3"))
			g.Expect(o.GetLabels()).To(HaveKeyWithValue("managed-by", "argocd"))
		}
	}
}

func TestBuildOptions(t *testing.T) {
	base := map[string]string{
		"apps/kustomization.yaml": "resources: [a.yaml]\n",
		"apps/a.yaml":             cmYAML("a"),
		"apps/comp/kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
labels:
- pairs: {comp: "yes"}
`,
		"plain/one.yaml":               cmYAML("one"),
		"plain/notes.txt":              "not yaml",
		"plain/values.yaml":            "replicas: 3\n",
		"plain/nested/two.yml":         cmYAML("two"),
		"plain/sub/kustomization.yaml": "resources: [three.yaml]\nnamePrefix: sub-\n",
		"plain/sub/three.yaml":         cmYAML("three"),
		"remote/kustomization.yaml":    "resources:\n- github.com/org/repo//deploy?ref=v1\n",
		"escape/kustomization.yaml":    "resources:\n- ../../../../etc/passwd\n",
		"loop/a/kustomization.yaml":    "resources: [../b]\n",
		"loop/b/kustomization.yaml":    "resources: [../a]\n",
	}
	tests := []struct {
		name    string
		opts    Options
		want    []string
		wantErr string
		check   func(g *WithT, objs map[string]map[string]any)
	}{
		{name: "existing kustomization with overlay fields",
			opts: Options{Path: "apps", TargetNamespace: "prod", NamePrefix: "p-", NameSuffix: "-s",
				CommonMetadata: &kustomizev1.CommonMetadata{Labels: map[string]string{"team": "x"}, Annotations: map[string]string{"note": "y"}}},
			want: []string{"ConfigMap/prod/p-a-s"},
			check: func(g *WithT, objs map[string]map[string]any) {
				md := objs["ConfigMap/prod/p-a-s"]["metadata"].(map[string]any)
				g.Expect(md["labels"]).To(HaveKeyWithValue("team", "x"))
				g.Expect(md["annotations"]).To(HaveKeyWithValue("note", "y"))
			}},
		{name: "generated kustomization includes nested manifests and sub-kustomizations",
			opts: Options{Path: "./plain"},
			want: []string{"ConfigMap/one", "ConfigMap/two", "ConfigMap/sub-three"}},
		{name: "patches with target and images",
			opts: Options{Path: "apps", Patches: []kustomize.Patch{{
				Patch:  `[{"op":"add","path":"/data/p","value":"patched"}]`,
				Target: &kustomize.Selector{Kind: "ConfigMap", Name: "a"}}}},
			want: []string{"ConfigMap/a"},
			check: func(g *WithT, objs map[string]map[string]any) {
				g.Expect(objs["ConfigMap/a"]["data"]).To(HaveKeyWithValue("p", "patched"))
			}},
		{name: "components", opts: Options{Path: "apps", Components: []string{"comp"}},
			want: []string{"ConfigMap/a"},
			check: func(g *WithT, objs map[string]map[string]any) {
				g.Expect(objs["ConfigMap/a"]["metadata"].(map[string]any)["labels"]).To(HaveKeyWithValue("comp", "yes"))
			}},
		{name: "build metadata", opts: OptionsFromSpec(&kustomizev1.KustomizationSpec{Path: "apps", BuildMetadata: []string{"originAnnotations"}}),
			want: []string{"ConfigMap/a"},
			check: func(g *WithT, objs map[string]map[string]any) {
				ann := objs["ConfigMap/a"]["metadata"].(map[string]any)["annotations"]
				g.Expect(ann).To(HaveKeyWithValue("config.kubernetes.io/origin", ContainSubstring("path: a.yaml")))
			}},
		{name: "missing component", opts: Options{Path: "apps", Components: []string{"nope"}}, wantErr: `component "nope" not found`},
		{name: "missing component ignored", opts: Options{Path: "apps", Components: []string{"nope"}, IgnoreMissingComponents: true},
			want: []string{"ConfigMap/a"}},
		{name: "remote base refused", opts: Options{Path: "remote"}, wantErr: `remote/kustomization.yaml refers to the remote base "github.com/org/repo//deploy?ref=v1"`},
		{name: "resource outside the artifact", opts: Options{Path: "escape"}, wantErr: "etc/passwd"},
		{name: "path escaping the root", opts: Options{Path: "../../etc"}, wantErr: "escapes root"},
		{name: "absolute path", opts: Options{Path: "/etc"}, wantErr: "absolute path"},
		{name: "missing path", opts: Options{Path: "./nope"}, wantErr: `path "./nope" not found`},
		{name: "build loop", opts: Options{Path: "loop/a"}, wantErr: "cycle"},
		{name: "object limit", opts: Options{Path: "plain", Limits: Limits{MaxObjects: 2}}, wantErr: "more than the limit of 2"},
		{name: "byte limit", opts: Options{Path: "plain", Limits: Limits{MaxOutputBytes: 100}}, wantErr: "exceeds the limit of 100 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			objs, err := Build(files(t, base), tt.opts)
			if tt.wantErr != "" {
				g.Expect(err).To(HaveOccurred())
				g.Expect(err.Error()).To(ContainSubstring(tt.wantErr))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			byRef := map[string]map[string]any{}
			var got []string
			for _, o := range objs {
				got = append(got, ObjectRef(o))
				byRef[ObjectRef(o)] = o.Object
			}
			g.Expect(got).To(ConsistOf(tt.want))
			if tt.check != nil {
				tt.check(g, byRef)
			}
		})
	}
}

func TestPathErrorsAreTyped(t *testing.T) {
	_, err := Build(files(t, map[string]string{"a.yaml": cmYAML("a")}), Options{Path: "../x"})
	if !errors.Is(err, ErrPath) {
		t.Fatalf("want ErrPath, got %v", err)
	}
}

// unstructuredString finds the first "image" under a containers list.
func unstructuredString(obj map[string]any, fields ...string) (string, bool, error) {
	var cur any = obj
	for _, f := range fields {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false, nil
		}
		cur = m[f]
	}
	list, _ := cur.([]any)
	for _, c := range list {
		if m, ok := c.(map[string]any); ok {
			if s, ok := m["image"].(string); ok {
				return s, true, nil
			}
		}
	}
	return "", false, nil
}

func FuzzBuildPath(f *testing.F) {
	for _, s := range []string{"", ".", "./apps", "../x", "/etc", "apps/../../x", "a\x00b", "C:\\x", "apps/./"} {
		f.Add(s)
	}
	fs := map[string][]byte{"apps/kustomization.yaml": []byte("resources: [a.yaml]\n"), "apps/a.yaml": []byte(cmYAML("a"))}
	f.Fuzz(func(t *testing.T, p string) {
		files, err := NewFiles(fs)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := Build(files, Options{Path: p})
		if err == nil && len(objs) != 1 {
			t.Fatalf("path %q: built %d objects", p, len(objs))
		}
	})
}

// BenchmarkBuildSeed builds the seed's corrected production overlay from
// memory, as a reconcile does for a new revision.
func BenchmarkBuildSeed(b *testing.B) {
	root, err := testenv.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	f, err := LoadDir(filepath.Join(root, "examples", "seed", "app-repo-corrected"), 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(f, Options{Path: "./overlays/production"}); err != nil {
			b.Fatal(err)
		}
	}
}
