package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"gotk.dev/pkg/testenv"
)

// gotkTest runs `gotk test` with args and returns the JSON report (when
// one was written), the text output and the exit code.
func gotkTest(t *testing.T, args ...string) (*Report, string, int) {
	t.Helper()
	var out bytes.Buffer
	cmd := NewCommand(&out)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.ExecuteContext(context.Background())
	code := 0
	if err != nil {
		var exit *ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("gotk test %v: %v (no exit code)", args, err)
		}
		code = exit.Code
	}
	var report *Report
	if strings.HasPrefix(strings.TrimSpace(out.String()), "{") {
		report = &Report{}
		if err := json.Unmarshal(out.Bytes(), report); err != nil {
			t.Fatalf("decoding the report: %v\n%s", err, out.String())
		}
	}
	return report, out.String(), code
}

// copyDir copies src to a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// seedFleet is a fleet repository whose cluster directory holds the
// seed's GitRepository and Kustomization of the app repository.
func seedFleet(t *testing.T, seed string, files ...string) string {
	t.Helper()
	fleet := t.TempDir()
	dir := filepath.Join(fleet, "clusters", "production")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(seed, "cluster", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return fleet
}

func TestSeedFleet(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	seed := filepath.Join(root, "examples", "seed")
	fleet := seedFleet(t, seed, "gitrepository-kustomization.yaml")
	// The guide's SOPS Kustomization applies the same path: two owners.
	withSOPS := seedFleet(t, seed, "gitrepository-kustomization.yaml", "sops-kustomization.yaml")
	const app = "GitRepository/flux-system/my-app"

	// The printed app with only the first defect fixed: the HPA is a resource.
	hpaFixed := copyDir(t, filepath.Join(seed, "app-repo"))
	kfile := filepath.Join(hpaFixed, "overlays", "production", "kustomization.yaml")
	fixed := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: production\n" +
		"resources:\n  - ../../base\n  - hpa.yaml\npatchesStrategicMerge:\n  - deployment-patch.yaml\n"
	if err := os.WriteFile(kfile, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}

	type want struct {
		class, object, file, message string
	}
	for _, tc := range []struct {
		name     string
		fleet    string
		appDir   string
		ks       string
		code     int
		findings []want
		status   string
	}{
		{name: "as printed: the HPA patch file", fleet: fleet, appDir: filepath.Join(seed, "app-repo"), code: 1, status: "failed",
			findings: []want{{class: ClassBuild, file: "overlays/production/hpa.yaml", message: "list it under resources"}}},
		{name: "HPA fixed: the missing namespace", fleet: fleet, appDir: hpaFixed, code: 1, status: "failed",
			findings: []want{
				{class: ClassMissingNamespace, object: "Service/production/my-app", file: "base/service.yaml", message: `namespace "production" does not exist`},
				{class: ClassMissingNamespace, object: "Deployment/production/my-app", file: "overlays/production/deployment-patch.yaml", message: `namespace "production" does not exist`},
				{class: ClassMissingNamespace, object: "HorizontalPodAutoscaler/production/my-app", file: "overlays/production/hpa.yaml", message: `namespace "production" does not exist`},
			}},
		{name: "corrected: passes", fleet: fleet, appDir: filepath.Join(seed, "app-repo-corrected"), code: 0, status: "passed"},
		{name: "with the SOPS Kustomization: two owners", fleet: withSOPS, appDir: filepath.Join(seed, "app-repo-corrected"), code: 1,
			ks: "flux-system/my-app-secrets", status: "failed",
			findings: []want{
				{class: ClassDoubleOwner, object: "Namespace/production", file: "overlays/production/namespace.yaml", message: "also applied by Kustomization flux-system/my-app"},
				{class: ClassDoubleOwner, object: "Service/production/my-app", file: "base/service.yaml", message: "also applied by Kustomization flux-system/my-app"},
				{class: ClassDoubleOwner, object: "Deployment/production/my-app", file: "overlays/production/deployment-patch.yaml", message: "also applied by Kustomization flux-system/my-app"},
				{class: ClassDoubleOwner, object: "HorizontalPodAutoscaler/production/my-app", file: "overlays/production/hpa.yaml", message: "also applied by Kustomization flux-system/my-app"},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			// (An unmapped source is reported skipped: TestGeneratedFleet.)
			report, out, code := gotkTest(t, tc.fleet, "--output", "json", "--source", app+"="+tc.appDir)
			ks := "flux-system/my-app"
			if tc.ks != "" {
				ks = tc.ks
			}
			g.Expect(code).To(Equal(tc.code), out)
			g.Expect(report.Clusters).To(HaveLen(1))
			c := report.Clusters[0]
			g.Expect(c.Path).To(Equal("clusters/production"))
			g.Expect(c.Kustomizations).To(ContainElement(And(
				HaveField("Name", ks), HaveField("Source", app), HaveField("Status", tc.status))), out)
			g.Expect(c.Findings).To(HaveLen(len(tc.findings)), out)
			for _, w := range tc.findings {
				g.Expect(c.Findings).To(ContainElement(And(
					HaveField("Class", w.class), HaveField("Kustomization", ks), HaveField("Object", w.object),
					HaveField("Source", app), HaveField("File", w.file), HaveField("Message", ContainSubstring(w.message)))), out)
			}
		})
	}
}

func TestGeneratedFleet(t *testing.T) {
	g := NewWithT(t)
	report, out, code := gotkTest(t, "testdata/fleet", "--output", "json")
	g.Expect(code).To(Equal(ExitFindings), out)
	g.Expect(report.Clusters).To(HaveLen(1))
	c := report.Clusters[0]
	const repo = "GitRepository/flux-system/flux-system"
	type key struct{ class, ks, object, file string }
	var got []key
	for _, f := range c.Findings {
		g.Expect(f.Source).To(Equal(repo))
		got = append(got, key{f.Class, f.Kustomization, f.Object, f.File})
	}
	// Each error once, with its file; the valid Widget, the substituted
	// namespace and ConfigMap of "vars" and the loops' ConfigMaps pass.
	g.Expect(got).To(ConsistOf(
		key{ClassSchema, "flux-system/apps", "Deployment/apps/web", "apps/deployment.yaml"},
		key{ClassSchema, "flux-system/apps", "Widget/apps/big", "apps/big-widget.yaml"},
		key{ClassUnknownKind, "flux-system/apps", "Gadget/apps/g", "apps/gadget.yaml"},
		key{ClassRemovedAPI, "flux-system/apps", "PodDisruptionBudget/apps/web", "apps/pdb.yaml"},
		key{ClassMissingDependency, "flux-system/apps", "", "clusters/dev/kustomizations.yaml"},
		key{ClassCycle, "flux-system/loop-a", "", "clusters/dev/loops.yaml"},
		key{ClassDoubleOwner, "flux-system/loop-a-copy", "ConfigMap/apps/loop-a", "loop/a/configmap.yaml"},
	), out)
	messages := map[string]string{}
	for _, f := range c.Findings {
		messages[f.Object+f.Class] = f.Message
	}
	g.Expect(messages["Deployment/apps/web"+ClassSchema]).To(ContainSubstring(".spec.replicaz: field not declared in schema"))
	g.Expect(messages["Widget/apps/big"+ClassSchema]).To(ContainSubstring("size must be at most 10"))
	g.Expect(messages["Gadget/apps/g"+ClassUnknownKind]).To(ContainSubstring("its CRD is not in the repository"))
	g.Expect(messages["PodDisruptionBudget/apps/web"+ClassRemovedAPI]).To(Equal("policy/v1beta1 PodDisruptionBudget was removed in Kubernetes 1.25 (deprecated in 1.21): use policy/v1 PodDisruptionBudget"))
	g.Expect(messages[ClassCycle]).To(ContainSubstring("flux-system/loop-a -> flux-system/loop-b -> flux-system/loop-a"))
	g.Expect(messages[ClassMissingDependency]).To(ContainSubstring("flux-system/monitoring"))
	g.Expect(messages["ConfigMap/apps/loop-a"+ClassDoubleOwner]).To(ContainSubstring("also applied by Kustomization flux-system/loop-a"))

	status := map[string]string{}
	for _, k := range c.Kustomizations {
		status[k.Name] = k.Status
	}
	g.Expect(status).To(Equal(map[string]string{
		"flux-system/flux-system": "passed", "flux-system/infra": "passed", "flux-system/apps": "failed",
		"flux-system/vars": "passed", "flux-system/loop-a": "failed", "flux-system/loop-b": "failed",
		"flux-system/elsewhere": "skipped", "flux-system/loop-a-copy": "failed",
	}))
	// infra comes before apps, which depends on it.
	names := []string{}
	for _, k := range c.Kustomizations {
		names = append(names, k.Name)
	}
	g.Expect(strings.Join(names, " ")).To(MatchRegexp(`infra.* flux-system/apps`))
	// The pull-request comment of this report (time left out).
	report.Seconds = 0
	var md bytes.Buffer
	g.Expect(report.WriteMarkdown(&md, MaxMarkdownBytes)).To(Succeed())
	golden(t, "testdata/generated.md", md.Bytes())
	var text bytes.Buffer
	report.WriteText(&text)
	golden(t, "testdata/generated.txt", text.Bytes())

	g.Expect(c.Skipped).To(ConsistOf(
		And(HaveField("Kustomization", "flux-system/elsewhere"), HaveField("Reason", ContainSubstring("GitRepository/flux-system/other-team"))),
		And(HaveField("Object", "Secret/apps/token"), HaveField("Reason", ContainSubstring("SOPS-encrypted"))),
	))
}

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares got with the file, or rewrites it with -update.
func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs (run with -update to accept):\n%s", file, got)
	}
}

func TestMarkdownIsCut(t *testing.T) {
	g := NewWithT(t)
	c := ClusterReport{Path: "clusters/big", Kustomizations: []KustomizationResult{{Name: "flux-system/apps", Status: "failed"}}}
	for i := range 500 {
		c.Findings = append(c.Findings, Finding{Class: ClassSchema, Kustomization: "flux-system/apps",
			Object: fmt.Sprintf("ConfigMap/apps/cm-%d", i), File: "apps/cm.yaml", Message: "a | b\nc"})
	}
	r := &Report{Clusters: []ClusterReport{c}}
	var md bytes.Buffer
	g.Expect(r.WriteMarkdown(&md, 4000)).To(Succeed())
	out := md.String()
	g.Expect(len(out)).To(BeNumerically("<", 4300))
	g.Expect(out).To(MatchRegexp(`\*\*Cut:\*\* \d+ more findings`))
	g.Expect(out).To(ContainSubstring(`| schema | ConfigMap/apps/cm-0 | ` + "`apps/cm.yaml`" + ` | a \| b<br>c |`))
	g.Expect(out).To(ContainSubstring("</details>"))
}

func TestExitCodeOnBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"missing directory", []string{filepath.Join(dir, "nope")}, "is not a directory"},
		{"no clusters", []string{dir}, "no clusters/* directory"},
		{"path outside", []string{dir, "--path", "../x"}, "outside the repository"},
		{"bad source", []string{dir, "--source", "GitRepository/my-app=" + dir}, "want KIND/NAMESPACE/NAME=DIR"},
		{"source not a dir", []string{dir, "--source", "GitRepository/flux-system/my-app=" + filepath.Join(dir, "nope")}, "is not a directory"},
		{"bad output", []string{dir, "--output", "yaml"}, "want text, json or markdown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			cmd := NewCommand(&bytes.Buffer{})
			cmd.SetArgs(tc.args)
			err := cmd.ExecuteContext(context.Background())
			var exit *ExitError
			g.Expect(errors.As(err, &exit)).To(BeTrue(), "%v", err)
			g.Expect(exit.Code).To(Equal(ExitFailed))
			g.Expect(err.Error()).To(ContainSubstring(tc.msg))
		})
	}
}

func TestClusterPaths(t *testing.T) {
	g := NewWithT(t)
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"clusters/staging/sync.yaml":    "",
		"clusters/production/sync.yaml": "",
		"clusters/README.md":            "not a cluster",
	})
	// Default: every clusters/* directory, in order.
	paths, err := clusterPaths(root, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(paths).To(Equal([]string{"clusters/production", "clusters/staging"}))
	// Given: kept as given once checked.
	paths, err = clusterPaths(root, []string{"clusters/staging"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(paths).To(Equal([]string{"clusters/staging"}))
	_, err = clusterPaths(root, []string{"clusters/README.md"})
	g.Expect(err).To(MatchError(ContainSubstring("is not a directory of the repository")))
}
