package controller

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testserver"
)

// gitCLI runs git in dir with a throwaway identity and no user config.
func gitCLI(g Gomega, dir string, args ...string) string {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@gotk.dev", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@gotk.dev")
	out, err := cmd.CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), "git %s: %s", strings.Join(args, " "), out)
	return strings.TrimSpace(string(out))
}

// TestGitRepositorySubmodules checks out a submodule (given by a relative
// URL) into the artifact with recurseSubmodules, and refuses a submodule
// URL that points at the controller's own file system.
func TestGitRepositorySubmodules(t *testing.T) {
	g := NewWithT(t)
	startHarness(t)
	ns := env.NewNamespace(t)
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	_, err := srv.CommitFiles("lib", "main", map[string]string{"lib.yaml": "lib"}, "lib")
	g.Expect(err).NotTo(HaveOccurred())
	for _, repo := range []string{"parent", "evil"} {
		_, err = srv.CommitFiles(repo, "main", map[string]string{"app.yaml": "app"}, "init")
		g.Expect(err).NotTo(HaveOccurred())
	}

	dir := t.TempDir()
	gitCLI(g, dir, "clone", "--quiet", srv.URL("parent"), "parent")
	gitCLI(g, dir+"/parent", "submodule", "--quiet", "add", "../lib", "vendor/lib")
	gitCLI(g, dir+"/parent", "commit", "--quiet", "-m", "add lib")
	gitCLI(g, dir+"/parent", "push", "--quiet", "origin", "HEAD:main")

	gitCLI(g, dir, "clone", "--quiet", srv.URL("evil"), "evil")
	libHead := gitCLI(g, dir+"/parent/vendor/lib", "rev-parse", "HEAD")
	g.Expect(os.WriteFile(dir+"/evil/.gitmodules", []byte("[submodule \"x\"]\n\tpath = x\n\turl = file:///etc\n"), 0o644)).To(Succeed())
	gitCLI(g, dir+"/evil", "add", ".gitmodules")
	gitCLI(g, dir+"/evil", "update-index", "--add", "--cacheinfo", "160000,"+libHead+",x")
	gitCLI(g, dir+"/evil", "commit", "--quiet", "-m", "evil")
	gitCLI(g, dir+"/evil", "push", "--quiet", "origin", "HEAD:main")

	with := newGitRepository(ns, "with", srv.URL("parent"), &sourcev1.GitRepositoryRef{Branch: "main"})
	with.Spec.RecurseSubmodules = true
	without := newGitRepository(ns, "without", srv.URL("parent"), &sourcev1.GitRepositoryRef{Branch: "main"})
	evil := newGitRepository(ns, "evil", srv.URL("evil"), &sourcev1.GitRepositoryRef{Branch: "main"})
	evil.Spec.RecurseSubmodules = true
	for _, o := range []*sourcev1.GitRepository{with, without, evil} {
		g.Expect(env.Client.Create(context.Background(), o)).To(Succeed())
	}
	got := waitReady(g, with)
	g.Expect(fetchFiles(g, got.Status.Artifact)).To(Equal([]string{"app.yaml", "vendor/lib/lib.yaml"}))
	g.Expect(got.Status.ObservedRecurseSubmodules).To(BeTrue())
	got = waitReady(g, without)
	g.Expect(fetchFiles(g, got.Status.Artifact)).To(Equal([]string{"app.yaml"}))

	got = waitCondition(g, evil, meta.ReadyCondition, metav1.ConditionFalse, sourcev1.GitOperationFailedReason)
	g.Expect(conditions.GetMessage(got, meta.ReadyCondition)).To(ContainSubstring(`submodule "x": unsupported URL scheme "file"`))
	g.Expect(got.Status.Artifact).To(BeNil())
}
