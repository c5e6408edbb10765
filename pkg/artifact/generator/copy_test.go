package generator

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gotk.dev/pkg/artifact/securepath"
)

// srcTree writes files (path → content) under a new directory.
func srcTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tree returns the files under dir as path → content.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func tarGz(t *testing.T, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestApply(t *testing.T) {
	src := map[string]string{
		"apps/base/podinfo/release.yaml":     "kind: HelmRelease",
		"apps/base/podinfo/README.md":        "docs",
		"apps/production/kustomization.yaml": "resources: []",
		"infrastructure/controllers/cm.yaml": "kind: ConfigMap",
		"values/base.yaml":                   "image:\n  tag: v1\n  repo: app\nreplicas: 1\n",
		"values/prod.yaml":                   "image:\n  tag: v2\nreplicas: 3\n",
		"bundle.tar.gz":                      "",
	}
	src["bundle.tar.gz"] = tarGz(t, map[string]string{"crds/a.yaml": "kind: CustomResourceDefinition"})
	src["charts/app.tgz"] = src["bundle.tar.gz"]
	src["charts/README.md"] = "docs"
	src["bundles/deep/crds.tar.gz"] = tarGz(t, map[string]string{"crds/b.yaml": "kind: CustomResourceDefinition"})
	cases := []struct {
		name   string
		ops    []Op
		want   map[string]string
		reason string
	}{
		{name: "recursive glob keeps the tree under the prefix",
			ops:  []Op{{From: "@repo/apps/**", To: "@artifact/"}},
			want: map[string]string{"base/podinfo/release.yaml": "kind: HelmRelease", "base/podinfo/README.md": "docs", "production/kustomization.yaml": "resources: []"}},
		{name: "exclude by base name",
			ops:  []Op{{From: "@repo/apps/**", To: "@artifact/apps/", Exclude: []string{"*.md"}}},
			want: map[string]string{"apps/base/podinfo/release.yaml": "kind: HelmRelease", "apps/production/kustomization.yaml": "resources: []"}},
		{name: "exclude by alternatives",
			ops:  []Op{{From: "@repo/apps/**", To: "@artifact/", Exclude: []string{"*.{md,txt}", "{production,staging}/**"}}},
			want: map[string]string{"base/podinfo/release.yaml": "kind: HelmRelease"}},
		{name: "exclude by a path from the source root",
			ops:  []Op{{From: "@repo/apps/**", To: "@artifact/", Exclude: []string{"apps/base/**"}}},
			want: map[string]string{"production/kustomization.yaml": "resources: []"}},
		{name: "exclude with too many alternatives", reason: "ValidationFailed",
			ops: []Op{{From: "@repo/apps/**", To: "@artifact/", Exclude: []string{"{" + strings.Repeat("a,", 21) + "a}"}}}},
		{name: "exclude with an unclosed group", reason: "ValidationFailed",
			ops: []Op{{From: "@repo/apps/**", To: "@artifact/", Exclude: []string{"*.{md"}}}},
		{name: "file glob at one level",
			ops:  []Op{{From: "@repo/values/*.yaml", To: "@artifact/v/"}},
			want: map[string]string{"v/base.yaml": src["values/base.yaml"], "v/prod.yaml": src["values/prod.yaml"]}},
		{name: "single file renamed",
			ops:  []Op{{From: "@repo/values/prod.yaml", To: "@artifact/values.yaml"}},
			want: map[string]string{"values.yaml": src["values/prod.yaml"]}},
		{name: "directory into a directory",
			ops:  []Op{{From: "@repo/infrastructure/controllers", To: "@artifact/infra/"}},
			want: map[string]string{"infra/controllers/cm.yaml": "kind: ConfigMap"}},
		{name: "later copy overwrites",
			ops: []Op{{From: "@repo/values/base.yaml", To: "@artifact/values.yaml"},
				{From: "@repo/values/prod.yaml", To: "@artifact/values.yaml"}},
			want: map[string]string{"values.yaml": src["values/prod.yaml"]}},
		{name: "merge strategy merges YAML values",
			ops: []Op{{From: "@repo/values/base.yaml", To: "@artifact/values.yaml"},
				{From: "@repo/values/prod.yaml", To: "@artifact/values.yaml", Strategy: "Merge"}},
			want: map[string]string{"values.yaml": "image:\n  repo: app\n  tag: v2\nreplicas: 3\n"}},
		{name: "extract strategy unpacks tarballs",
			ops:  []Op{{From: "@repo/*.tar.gz", To: "@artifact/bundle/", Strategy: "Extract"}},
			want: map[string]string{"bundle/crds/a.yaml": "kind: CustomResourceDefinition"}},
		{name: "extract glob takes alternatives",
			ops:  []Op{{From: "@repo/{charts,bundles}/**/*.{tgz,tar.gz}", To: "@artifact/x/", Strategy: "Extract"}},
			want: map[string]string{"x/crds/a.yaml": "kind: CustomResourceDefinition", "x/crds/b.yaml": "kind: CustomResourceDefinition"}},
		{name: "extract glob passes over what is not a tarball",
			ops:  []Op{{From: "@repo/charts/*", To: "@artifact/", Strategy: "Extract"}},
			want: map[string]string{"crds/a.yaml": "kind: CustomResourceDefinition"}},
		{name: "extract glob excludes",
			ops:  []Op{{From: "@repo/{charts,bundles}/**/*.{tgz,tar.gz}", To: "@artifact/", Strategy: "Extract", Exclude: []string{"bundles/**"}}},
			want: map[string]string{"crds/a.yaml": "kind: CustomResourceDefinition"}},
		{name: "extract glob alternatives matching nothing", reason: "BuildFailed",
			ops: []Op{{From: "@repo/{x,y}/*.tgz", To: "@artifact/", Strategy: "Extract"}}},
		{name: "extract glob with an unclosed group", reason: "ValidationFailed",
			ops: []Op{{From: "@repo/charts/*.{tgz", To: "@artifact/", Strategy: "Extract"}}},
		{name: "braces are literal outside Extract", reason: "BuildFailed",
			ops: []Op{{From: "@repo/values/{base,prod}.yaml", To: "@artifact/"}}},
		{name: "extract of a directory", reason: "BuildFailed",
			ops: []Op{{From: "@repo/charts", To: "@artifact/", Strategy: "Extract"}}},
		{name: "excluded single file is skipped",
			ops: []Op{{From: "@repo/values/base.yaml", To: "@artifact/values.yaml"},
				{From: "@repo/values/prod.yaml", To: "@artifact/values.yaml", Exclude: []string{"prod.*"}}},
			want: map[string]string{"values.yaml": src["values/base.yaml"]}},
		{name: "excluded single file by its path is skipped",
			ops:  []Op{{From: "@repo/values/prod.yaml", To: "@artifact/", Exclude: []string{"values/**"}}},
			want: map[string]string{}},
		{name: "glob matching nothing", ops: []Op{{From: "@repo/none/**", To: "@artifact/"}}, reason: "BuildFailed"},
		{name: "file glob matching nothing", ops: []Op{{From: "@repo/apps/*.json", To: "@artifact/"}}, reason: "BuildFailed"},
		{name: "missing file", ops: []Op{{From: "@repo/nope.yaml", To: "@artifact/"}}, reason: "BuildFailed"},
		{name: "source path escape", ops: []Op{{From: "@repo/../etc/passwd", To: "@artifact/"}}, reason: "ValidationFailed"},
		{name: "destination escape", ops: []Op{{From: "@repo/values/base.yaml", To: "@artifact/../../x.yaml"}}, reason: "ValidationFailed"},
		{name: "not an artifact destination", ops: []Op{{From: "@repo/values/base.yaml", To: "@repo/x.yaml"}}, reason: "ValidationFailed"},
		{name: "malformed glob", ops: []Op{{From: "@repo/[a", To: "@artifact/"}}, reason: "ValidationFailed"},
		{name: "extract of a non-tarball", ops: []Op{{From: "@repo/values/base.yaml", To: "@artifact/", Strategy: "Extract"}}, reason: "BuildFailed"},
	}
	srcDir := srcTree(t, src)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			outDir := t.TempDir()
			out, err := securepath.OpenRoot(outDir)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			for _, op := range tc.ops {
				op.SrcDir = srcDir
				if err = Apply(out, op); err != nil {
					break
				}
			}
			if tc.reason != "" {
				var gerr *Error
				if !errors.As(err, &gerr) || gerr.Reason != tc.reason {
					t.Fatalf("want a %s error, got %v", tc.reason, err)
				}
				last := tc.ops[len(tc.ops)-1]
				if !bytes.Contains([]byte(gerr.Msg), []byte(last.From)) && !bytes.Contains([]byte(gerr.Msg), []byte(last.To)) {
					t.Fatalf("message %q does not name the operation", gerr.Msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := tree(t, outDir)
			if len(got) != len(tc.want) {
				t.Fatalf("got files %v, want %v", got, tc.want)
			}
			for p, c := range tc.want {
				if got[p] != c {
					t.Errorf("%s: got %q, want %q", p, got[p], c)
				}
			}
		})
	}
}

func TestTreeDigest(t *testing.T) {
	digest := func(files map[string]string) string {
		root, err := securepath.OpenRoot(srcTree(t, files))
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		d, err := TreeDigest(root)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a := digest(map[string]string{"a.yaml": "x", "b/c.yaml": "y"})
	if a != digest(map[string]string{"b/c.yaml": "y", "a.yaml": "x"}) {
		t.Fatal("same files, different digest")
	}
	for name, files := range map[string]map[string]string{
		"content": {"a.yaml": "x", "b/c.yaml": "z"},
		"path":    {"a.yaml": "x", "b/d.yaml": "y"},
		"split":   {"a.yaml": "xb/c.yaml", "b/c.yaml": ""},
	} {
		if digest(files) == a {
			t.Errorf("%s change kept the digest", name)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"apps/**", "apps/a/b.yaml", true},
		{"apps/**", "apps", true},
		{"apps/**/*.yaml", "apps/b.yaml", true},
		{"apps/**/*.yaml", "apps/a/b/c.yaml", true},
		{"apps/**/*.yaml", "apps/a/b/c.json", false},
		{"apps/*", "apps/a/b.yaml", false},
		{"apps/*", "apps/a", true},
		{"**", "x/y", true},
		{"[a", "a", false},
	} {
		if got := Match(tc.pattern, tc.name); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}
