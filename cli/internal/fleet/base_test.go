package fleet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	. "github.com/onsi/gomega"
)

// writeFiles writes path → content under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const baseDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
`

func TestBaseDiff(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"clusters/dev/app.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: flux-system\n" +
			"spec:\n  interval: 5m\n  path: ./app\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n",
		"app/namespace.yaml":  "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n",
		"app/deployment.yaml": baseDeployment,
		"app/secret.yaml":     "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: web\nstringData:\n  password: base-canary-1\n  user: canary-user\n",
		"app/old.yaml":        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old\n  namespace: web\ndata:\n  k: v\n",
	})
	repo, err := git.PlainInit(dir, false)
	g.Expect(err).NotTo(HaveOccurred())
	wt, err := repo.Worktree()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(wt.AddGlob(".")).To(Succeed())
	_, err = wt.Commit("base", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Unix(0, 0)}})
	g.Expect(err).NotTo(HaveOccurred())

	// The change under review: a replica bump and a new selector (which
	// the API server refuses to change), a new password, one ConfigMap
	// replaced by another.
	g.Expect(os.Remove(filepath.Join(dir, "app/old.yaml"))).To(Succeed())
	writeFiles(t, dir, map[string]string{
		"app/deployment.yaml": strings.ReplaceAll(strings.Replace(baseDeployment, "replicas: 1", "replicas: 3", 1), "{app: web}", "{app: web, tier: front}"),
		"app/secret.yaml":     "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: web\nstringData:\n  password: head-canary-2\n  user: canary-user\n",
		"app/new.yaml":        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: new\n  namespace: web\ndata:\n  k: v\n",
	})

	report, out, code := gotkTest(t, dir, "--base", "HEAD", "--output", "json")
	g.Expect(code).To(Equal(ExitFindings), out)
	g.Expect(report.Base).To(Equal("HEAD"))
	g.Expect(report.Clusters[0].Findings).To(ConsistOf(And(
		HaveField("Class", ClassImmutable), HaveField("Object", "Deployment/web/web"), HaveField("File", "app/deployment.yaml"),
		HaveField("Message", ContainSubstring("field is immutable")))), out)
	g.Expect(out).NotTo(ContainSubstring("canary"))
	diffs := map[string]ObjectDiff{}
	for _, d := range report.Clusters[0].Diff {
		g.Expect(d.Kustomization).To(Equal("flux-system/app"))
		diffs[d.Object] = d
	}
	g.Expect(diffs).To(HaveLen(4), out)
	g.Expect(diffs["Deployment/web/web"].Change).To(Equal(ChangeChanged))
	g.Expect(diffs["Deployment/web/web"].Diff).To(And(ContainSubstring("-  replicas: 1\n"), ContainSubstring("+  replicas: 3\n")))
	g.Expect(diffs["Secret/web/creds"].Change).To(Equal(ChangeChanged))
	g.Expect(diffs["Secret/web/creds"].Diff).To(And(ContainSubstring("-  password: '*** (before)'"), ContainSubstring("+  password: '*** (after)'")))
	g.Expect(diffs["ConfigMap/web/new"].Change).To(Equal(ChangeAdded))
	g.Expect(diffs["ConfigMap/web/old"].Change).To(Equal(ChangeRemoved))

	_, out, code = gotkTest(t, dir, "--base", "no-such-branch")
	g.Expect(code).To(Equal(ExitFailed), out)
}
