package fleet

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"gotk.dev/pkg/testserver"
)

// generatorFleet is a monorepo laid out as Flux's kustomize-helm example
// with an ArtifactGenerator: the cluster directory declares the
// generator and Kustomizations whose sources are its two
// ExternalArtifacts (infrastructure/ and apps/ copied to their roots);
// charts come from an HTTP HelmRepository and, for podinfo, from an
// OCIRepository through chartRef.
func generatorFleet(helmRepo, registry, infraCopy string) map[string]string {
	ks := func(name, artifact, path, dependsOn string) string {
		s := "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: " + name + "\n  namespace: flux-system\nspec:\n"
		if dependsOn != "" {
			s += "  dependsOn:\n    - name: " + dependsOn + "\n"
		}
		return s + "  interval: 1h\n  sourceRef:\n    kind: ExternalArtifact\n    name: " + artifact + "\n  path: " + path + "\n  prune: true\n"
	}
	return map[string]string{
		// apps.yaml sorts before the generator's file: its source is
		// resolved once the generator is known.
		"clusters/production/apps.yaml": ks("apps", "apps", "./production", "infra-configs"),
		"clusters/production/infrastructure.yaml": `apiVersion: source.extensions.fluxcd.io/v1beta1
kind: ArtifactGenerator
metadata:
  name: flux-system
  namespace: flux-system
spec:
  sources:
    - alias: repo
      kind: GitRepository
      name: flux-system
  artifacts:
    - name: infrastructure
      originRevision: "@repo"
      copy:
        - from: "` + infraCopy + `"
          to: "@artifact/"
    - name: apps
      originRevision: "@repo"
      copy:
        - from: "@repo/apps/**"
          to: "@artifact/"
          exclude: ["*.md"]
---
` + ks("infra-controllers", "infrastructure", "./controllers", "") + "---\n" + ks("infra-configs", "infrastructure", "./configs", "infra-controllers"),
		"infrastructure/controllers/kustomization.yaml": "resources: [namespace.yaml, ingress-nginx.yaml]\n",
		"infrastructure/controllers/namespace.yaml":     "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ingress-nginx\n",
		"infrastructure/controllers/ingress-nginx.yaml": "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: ingress-nginx\n  namespace: ingress-nginx\n" +
			"spec:\n  interval: 1h\n  url: " + helmRepo + "\n---\n" +
			"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: ingress-nginx\n  namespace: ingress-nginx\n" +
			"spec:\n  interval: 1h\n  chart:\n    spec:\n      chart: ingress-nginx\n      version: \"4.x\"\n      sourceRef: {kind: HelmRepository, name: ingress-nginx}\n",
		"infrastructure/configs/kustomization.yaml":   "resources: [cluster-issuers.yaml]\n",
		"infrastructure/configs/cluster-issuers.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-issuers\n  namespace: ingress-nginx\ndata:\n  issuer: letsencrypt\n",
		"apps/base/podinfo/kustomization.yaml":        "resources: [namespace.yaml, release.yaml]\n",
		"apps/base/podinfo/namespace.yaml":            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: podinfo\n",
		"apps/base/podinfo/release.yaml": "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: podinfo\n  namespace: podinfo\n" +
			"spec:\n  interval: 1h\n  url: oci://" + registry + "/charts/podinfo\n  insecure: true\n  ref: {tag: 6.0.0}\n" +
			"  layerSelector: {mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip, operation: copy}\n---\n" +
			"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: podinfo\n" +
			"spec:\n  interval: 1h\n  chartRef: {kind: OCIRepository, name: podinfo}\n  values:\n    message: hello\n",
		"apps/base/podinfo/README.md":        "podinfo\n",
		"apps/production/kustomization.yaml": "resources: [../base/podinfo]\n",
	}
}

// TestArtifactGeneratorFleet follows Kustomizations whose sources are
// ExternalArtifacts of an ArtifactGenerator in the repository: their
// files are composed from the repository as source-controller composes
// them, and built, rendered and validated like the others.
func TestArtifactGeneratorFleet(t *testing.T) {
	charts := testserver.NewHelmRepoForTest(t, testserver.HelmRepoOptions{})
	if err := charts.AddChart("ingress-nginx", "4.11.0", nil); err != nil {
		t.Fatal(err)
	}
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{})
	pushOCIChart(t, reg.Host(), "podinfo", "6.0.0")
	for _, tc := range []struct {
		name      string
		infraCopy string
		drop      string // a file left out of the repository
		code      int
		objects   map[string]int // objects per Kustomization
		finding   [2]string      // class and message of the findings
		findingOf []string       // the Kustomizations with that finding
		skipped   string         // why apps is skipped
	}{
		{name: "composed and validated", infraCopy: "@repo/infrastructure/**",
			objects: map[string]int{"flux-system/infra-controllers": 4, "flux-system/infra-configs": 1, "flux-system/apps": 4}},
		{name: "a copy that matches nothing", infraCopy: "@repo/infra/**", code: ExitFindings,
			findingOf: []string{"flux-system/infra-controllers", "flux-system/infra-configs"},
			finding:   [2]string{ClassBuild, "ArtifactGenerator/flux-system/flux-system artifact 'infrastructure' copy[0]: copy from '@repo/infra/**'"}},
		{name: "no generator", infraCopy: "@repo/infrastructure/**", drop: "clusters/production/infrastructure.yaml", code: ExitFindings,
			findingOf: []string{"flux-system/apps"}, finding: [2]string{ClassMissingDependency, "dependsOn Kustomization flux-system/infra-configs"},
			skipped: "source ExternalArtifact/flux-system/apps is not made by an ArtifactGenerator of this repository"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			files := generatorFleet(charts.URL(), reg.Host(), tc.infraCopy)
			delete(files, tc.drop)
			dir := t.TempDir()
			writeFiles(t, dir, files)
			report, out, code := gotkTest(t, dir, "--output", "json")
			g.Expect(code).To(Equal(tc.code), out)
			c := report.Clusters[0]
			got := map[string]int{}
			for _, k := range c.Kustomizations {
				if k.Name != "flux-system/flux-system" && k.Status == "passed" {
					got[k.Name] = k.Objects
				}
			}
			if tc.objects != nil {
				g.Expect(got).To(Equal(tc.objects), out)
				g.Expect(c.Skipped).To(BeEmpty(), out)
			}
			if tc.finding[0] != "" {
				var want []any
				for _, ks := range tc.findingOf {
					want = append(want, And(HaveField("Class", tc.finding[0]), HaveField("Kustomization", ks), HaveField("Message", ContainSubstring(tc.finding[1]))))
				}
				g.Expect(c.Findings).To(ConsistOf(want...), out)
			} else {
				g.Expect(c.Findings).To(BeEmpty(), out)
			}
			if tc.skipped != "" {
				g.Expect(c.Skipped).To(ConsistOf(And(HaveField("Kustomization", "flux-system/apps"), HaveField("Reason", ContainSubstring(tc.skipped)))), out)
				g.Expect(strings.Count(out, `"status": "passed"`)).To(Equal(1), out) // only the cluster's root
			}
		})
	}
}

// patternFleet is a repository whose ArtifactGenerator makes one
// ExternalArtifact per apps/<app> directory (spec.pathPattern) and whose
// Kustomizations apply two of them.
func patternFleet(pattern string) map[string]string {
	ks := func(name string) string {
		return "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: " + name + "\n  namespace: flux-system\nspec:\n" +
			"  interval: 1h\n  sourceRef:\n    kind: ExternalArtifact\n    name: app-" + name + "\n  path: ./\n  prune: true\n"
	}
	cm := func(name string, keys int) string {
		s := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: default\n"
		for range keys - 1 {
			s += "---\n" + "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "-extra\n  namespace: default\n"
		}
		return s
	}
	return map[string]string{
		"clusters/production/apps.yaml": `apiVersion: source.extensions.fluxcd.io/v1beta1
kind: ArtifactGenerator
metadata:
  name: apps
  namespace: flux-system
spec:
  sources:
    - alias: repo
      kind: GitRepository
      name: flux-system
  pathPattern: "` + pattern + `"
  artifacts:
    - name: "app-{app}"
      copy:
        - from: "@repo/apps/{app}/**"
          to: "@artifact/"
---
` + ks("frontend") + "---\n" + ks("backend"),
		"apps/Frontend/app.yaml": cm("frontend", 1),
		"apps/backend/app.yaml":  cm("backend", 2),
	}
}

// TestArtifactGeneratorFleetPathPattern: an ExternalArtifact named from
// a pathPattern capture is composed from the directory it was captured
// in (names lowercased, paths as found); a generator whose pattern is
// bad leaves the Kustomization skipped with the pattern's error.
func TestArtifactGeneratorFleetPathPattern(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pattern string
		objects map[string]int
		skipped string
	}{
		{name: "expanded", pattern: "@repo/apps/{app}",
			objects: map[string]int{"flux-system/frontend": 1, "flux-system/backend": 2}},
		{name: "bad pattern", pattern: "@repo/apps/{app",
			skipped: "ArtifactGenerator/flux-system/apps: pathPattern '@repo/apps/{app': '{' without a closing '}'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			dir := t.TempDir()
			writeFiles(t, dir, patternFleet(tc.pattern))
			report, out, _ := gotkTest(t, dir, "--output", "json")
			c := report.Clusters[0]
			got := map[string]int{}
			for _, k := range c.Kustomizations {
				if k.Name != "flux-system/flux-system" && k.Status == "passed" {
					got[k.Name] = k.Objects
				}
			}
			if tc.objects != nil {
				g.Expect(got).To(Equal(tc.objects), out)
				g.Expect(c.Skipped).To(BeEmpty(), out)
				g.Expect(c.Findings).To(BeEmpty(), out)
			}
			if tc.skipped != "" {
				g.Expect(got).To(BeEmpty(), out)
				g.Expect(c.Skipped).To(ContainElement(HaveField("Reason", ContainSubstring(tc.skipped))), out)
			}
		})
	}
}
