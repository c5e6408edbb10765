package fleet

import (
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	. "github.com/onsi/gomega"

	"gotk.dev/pkg/testserver"
)

const webChart = "apiVersion: v2\nname: web\nversion: 1.0.0\n"

const webDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels:
    chart: {{ .Chart.Name }}-{{ .Chart.Version }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:{{ .Values.tag }}
`

const webService = `apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  selector: {app: web}
  ports:
    - port: {{ .Values.port }}
`

// helmFleet is a fleet whose app Kustomization declares a HelmRelease of
// a chart in the repository, with values inline and from a ConfigMap of
// the repository.
func helmFleet(t *testing.T) string {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"clusters/dev/app.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: flux-system\n" +
			"spec:\n  interval: 5m\n  path: ./app\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n",
		"app/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n",
		"app/values.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-values\n  namespace: web\ndata:\n  values.yaml: |\n    tag: \"1.27\"\n    port: 80\n",
		"app/release.yaml": "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\n  namespace: web\n" +
			"spec:\n  interval: 5m\n  chart:\n    spec:\n      chart: ./charts/web\n      sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}\n" +
			"  valuesFrom:\n    - {kind: ConfigMap, name: web-values}\n  values:\n    replicas: 2\n",
		// The same chart released in a second namespace: its objects are
		// other objects, not a second owner of the first release's.
		"app/web2.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web2\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\n  namespace: web2\n" +
			"spec:\n  interval: 5m\n  chart:\n    spec:\n      chart: ./charts/web\n      sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}\n" +
			"  values:\n    port: 81\n",
		"charts/web/Chart.yaml":                webChart,
		"charts/web/values.yaml":               "replicas: 1\ntag: latest\nport: 8080\n",
		"charts/web/templates/deployment.yaml": webDeployment,
		"charts/web/templates/service.yaml":    webService,
	})
	return dir
}

func TestHelmReleaseLocalChart(t *testing.T) {
	g := NewWithT(t)
	dir := helmFleet(t)

	report, out, code := gotkTest(t, dir, "--output", "json")
	g.Expect(code).To(Equal(0), out)
	c := report.Clusters[0]
	g.Expect(c.Skipped).To(BeEmpty(), out)
	g.Expect(c.Kustomizations).To(ConsistOf(
		HaveField("Status", "passed"),
		// Namespace, ConfigMap, HelmRelease and the chart's Deployment and
		// Service; the second release's Namespace, HelmRelease, Deployment, Service.
		And(HaveField("Name", "flux-system/app"), HaveField("Objects", 9), HaveField("Status", "passed"))), out)

	// The change under review: a chart version bump, and a port value the
	// Service's schema refuses.
	repo, err := git.PlainInit(dir, false)
	g.Expect(err).NotTo(HaveOccurred())
	wt, err := repo.Worktree()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(wt.AddGlob(".")).To(Succeed())
	_, err = wt.Commit("base", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Unix(0, 0)}})
	g.Expect(err).NotTo(HaveOccurred())
	writeFiles(t, dir, map[string]string{
		"charts/web/Chart.yaml": strings.Replace(webChart, "1.0.0", "1.1.0", 1),
		"app/values.yaml":       "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-values\n  namespace: web\ndata:\n  values.yaml: |\n    tag: \"1.27\"\n    port: 99999\n",
	})
	report, out, code = gotkTest(t, dir, "--base", "HEAD", "--output", "json")
	g.Expect(code).To(Equal(ExitFindings), out)
	c = report.Clusters[0]
	g.Expect(c.Findings).To(ConsistOf(And(
		HaveField("Class", ClassSchema), HaveField("Object", "Service/web/web"), HaveField("File", "web/templates/service.yaml"),
		HaveField("Message", ContainSubstring("99999")))), out)
	// The values ConfigMap, the first release's Service, and both
	// releases' Deployments (the chart version label).
	g.Expect(c.Diff).To(HaveLen(4), out)
	diffs := map[string]ObjectDiff{}
	for _, d := range c.Diff {
		diffs[d.Object] = d
	}
	g.Expect(diffs["Deployment/web"].Diff).To(And(ContainSubstring("-    chart: web-1.0.0\n"), ContainSubstring("+    chart: web-1.1.0\n")), out)
	g.Expect(diffs["Service/web"].Diff).To(And(ContainSubstring("-  - port: 80\n"), ContainSubstring("+  - port: 99999\n")), out)
}

func TestHelmReleaseFromHelmRepository(t *testing.T) {
	hr := testserver.NewHelmRepoForTest(t, testserver.HelmRepoOptions{})
	if err := hr.AddChart("podinfo", "6.0.0", nil); err != nil {
		t.Fatal(err)
	}
	release := func(version string) string {
		return "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: web\n" +
			"spec:\n  interval: 5m\n  chart:\n    spec:\n      chart: podinfo\n      version: \"" + version + "\"\n" +
			"      sourceRef: {kind: HelmRepository, name: charts, namespace: flux-system}\n  values:\n    message: hello\n"
	}
	fleet := func(t *testing.T, version, url string) string {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{
			"clusters/dev/app.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: flux-system\n" +
				"spec:\n  interval: 5m\n  path: ./app\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n",
			"clusters/dev/repo.yaml": "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: charts\n  namespace: flux-system\nspec:\n  interval: 1h\n  url: " + url + "\n",
			"app/namespace.yaml":     "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n",
			"app/release.yaml":       release(version),
		})
		return dir
	}
	for _, tc := range []struct {
		name, version, url string
		args               []string
		code               int
		objects            int
		skipped            string
		finding            string
	}{
		{name: "fetched and rendered", version: "6.x", url: hr.URL(), code: 0, objects: 3},
		{name: "offline is a skip", version: "6.x", url: hr.URL(), args: []string{"--offline"}, objects: 2,
			skipped: "chart podinfo from HelmRepository/flux-system/charts is not fetched (--offline)"},
		{name: "unreachable is a skip", version: "6.x", url: "http://127.0.0.1:1", objects: 2,
			skipped: "the repository is unreachable"},
		{name: "no such version", version: "7.x", url: hr.URL(), code: ExitFindings, objects: 2,
			finding: `version "7.x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			dir := fleet(t, tc.version, tc.url)
			report, out, code := gotkTest(t, append([]string{dir, "--output", "json"}, tc.args...)...)
			g.Expect(code).To(Equal(tc.code), out)
			c := report.Clusters[0]
			for _, k := range c.Kustomizations {
				if k.Name == "flux-system/app" {
					g.Expect(k.Objects).To(Equal(tc.objects), out)
				}
			}
			if tc.skipped == "" {
				g.Expect(c.Skipped).To(BeEmpty(), out)
			} else {
				g.Expect(c.Skipped).To(ConsistOf(And(HaveField("Object", "HelmRelease/web/podinfo"), HaveField("Reason", ContainSubstring(tc.skipped)))), out)
			}
			if tc.finding == "" {
				g.Expect(c.Findings).To(BeEmpty(), out)
			} else {
				g.Expect(c.Findings).To(ConsistOf(And(HaveField("Class", ClassHelm), HaveField("Object", "HelmRelease/web/podinfo"),
					HaveField("File", "app/release.yaml"), HaveField("Message", ContainSubstring(tc.finding)))), out)
			}
		})
	}
}
