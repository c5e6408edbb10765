package fleet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// benchFleet writes a fleet of 100 Kustomizations, 20 of which declare a
// HelmRelease of a chart in the repository, and commits it.
func benchFleet(b *testing.B) string {
	dir := b.TempDir()
	files := map[string]string{
		"charts/web/Chart.yaml":                webChart,
		"charts/web/values.yaml":               "replicas: 1\ntag: latest\nport: 8080\n",
		"charts/web/templates/deployment.yaml": webDeployment,
		"charts/web/templates/service.yaml":    webService,
	}
	for i := range 100 {
		name := fmt.Sprintf("app-%03d", i)
		files["clusters/dev/"+name+".yaml"] = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: " + name + "\n  namespace: flux-system\n" +
			"spec:\n  interval: 5m\n  path: ./apps/" + name + "\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n"
		files["apps/"+name+"/kustomization.yaml"] = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: " + name + "\nresources: [namespace.yaml, deployment.yaml, config.yaml]\n"
		files["apps/"+name+"/namespace.yaml"] = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + name + "\n"
		files["apps/"+name+"/deployment.yaml"] = baseDeployment
		files["apps/"+name+"/config.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config\ndata:\n  app: " + name + "\n"
		if i%5 == 0 {
			files["apps/"+name+"/kustomization.yaml"] = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: " + name + "\nresources: [namespace.yaml, deployment.yaml, config.yaml, release.yaml]\n"
			files["apps/"+name+"/release.yaml"] = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\n" +
				"spec:\n  interval: 5m\n  chart:\n    spec:\n      chart: ./charts/web\n      sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}\n  values:\n    replicas: 2\n    port: 80\n"
		}
	}
	writeFilesB(b, dir, files)
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		b.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		b.Fatal(err)
	}
	if err := wt.AddGlob("."); err != nil {
		b.Fatal(err)
	}
	if _, err := wt.Commit("base", &git.CommitOptions{Author: &object.Signature{Name: "b", Email: "b@example.com", When: time.Unix(0, 0)}}); err != nil {
		b.Fatal(err)
	}
	return dir
}

func writeFilesB(b *testing.B, dir string, files map[string]string) {
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFleetCheck checks a fleet of 100 Kustomizations and 20
// HelmReleases (local charts) against its base revision after a chart
// version bump, then re-checks it after a one-file change (a replica
// count), reporting the seconds of each.
func BenchmarkFleetCheck(b *testing.B) {
	dir := benchFleet(b)
	writeFilesB(b, dir, map[string]string{"charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.1.0\n"})
	ctx := context.Background()
	var check, recheck time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		report, err := Run(ctx, Options{Dir: dir, Base: "HEAD"})
		if err != nil {
			b.Fatal(err)
		}
		check += time.Since(start)
		if n := report.Findings(); n != 0 || len(report.Clusters[0].Kustomizations) != 101 || len(report.Clusters[0].Diff) != 20 {
			b.Fatalf("%d findings, %d Kustomizations, %d changed objects: want 0, 101, 20; findings: %v", n, len(report.Clusters[0].Kustomizations), len(report.Clusters[0].Diff), report.Clusters[0].Findings)
		}
		writeFilesB(b, dir, map[string]string{"apps/app-001/deployment.yaml": replicas(baseDeployment, i+2)})
		start = time.Now()
		if report, err = Run(ctx, Options{Dir: dir, Base: "HEAD"}); err != nil {
			b.Fatal(err)
		}
		recheck += time.Since(start)
		if len(report.Clusters[0].Diff) != 21 {
			b.Fatalf("%d changed objects after the one-file change: want 21", len(report.Clusters[0].Diff))
		}
	}
	b.ReportMetric(check.Seconds()/float64(b.N), "s/check")
	b.ReportMetric(recheck.Seconds()/float64(b.N), "s/recheck")
}

func replicas(deployment string, n int) string {
	return strings.Replace(deployment, "replicas: 1", fmt.Sprintf("replicas: %d", n), 1)
}
