package dev

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/bootstrap"
	"gotk.dev/cli/internal/install"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/git"
	"gotk.dev/pkg/localcluster"
	"gotk.dev/pkg/testenv"
	"gotk.dev/pkg/testserver"
)

// TestDevSyncsTheSeedApp is `make run` as a user meets it: the five
// controllers as processes on the local control plane, the seed guide's
// app served over Git and synced; a pushed change arrives through the
// webhook Receiver and is applied.
func TestDevSyncsTheSeedApp(t *testing.T) {
	g := NewWithT(t)
	binDir := buildControllers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	state := t.TempDir()
	s, err := start(ctx, options{stateDir: state, binDir: binDir, timeout: 2 * time.Minute, path: "./overlays/production"})
	g.Expect(err).NotTo(HaveOccurred())
	defer s.stop()

	g.Expect(s.procs.List).To(HaveLen(5))
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/nothing-here.tar.gz", s.procs.StoragePort))
	g.Expect(err).NotTo(HaveOccurred(), "artifact server reachable")
	resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusNotFound))
	for _, f := range []string{"kubeconfig", "etcd", "logs/source-controller.log", "git"} {
		_, err := os.Stat(filepath.Join(state, f))
		g.Expect(err).NotTo(HaveOccurred(), "state dir has %s", f)
	}

	c := s.env.Client
	ks := &kustomizev1.Kustomization{}
	g.Eventually(func(g Gomega) {
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: DemoName}, ks)).To(Succeed())
		g.Expect(conditions.IsReady(ks)).To(BeTrue(), conditions.GetMessage(ks, meta.ReadyCondition))
		g.Expect(ks.Status.LastAppliedRevision).To(HavePrefix("main@sha1:"))
	}, 2*time.Minute, 250*time.Millisecond).Should(Succeed())
	dep := &appsv1.Deployment{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "production", Name: "my-app"}, dep)).To(Succeed())
	g.Expect(dep.Spec.Template.Spec.Containers[0].Image).To(Equal("ghcr.io/myorg/my-app:v1.2.3"))

	// Push a change and call the webhook: the new image is applied.
	patch, err := os.ReadFile(filepath.Join(seedDir(t), "overlays/production/deployment-patch.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	bumped := strings.Replace(string(patch), "my-app:v1.2.3", "my-app:v1.2.4", 1)
	_, err = s.demo.git.CommitFiles(DemoName, "main", map[string]string{"overlays/production/deployment-patch.yaml": bumped}, "bump my-app")
	g.Expect(err).NotTo(HaveOccurred())
	hook, err := http.Post(s.demo.hookURL, "application/json", strings.NewReader("{}"))
	g.Expect(err).NotTo(HaveOccurred())
	hook.Body.Close()
	g.Expect(hook.StatusCode).To(Equal(http.StatusOK))
	g.Eventually(func(g Gomega) {
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "production", Name: "my-app"}, dep)).To(Succeed())
		g.Expect(dep.Spec.Template.Spec.Containers[0].Image).To(Equal("ghcr.io/myorg/my-app:v1.2.4"))
	}, time.Minute, 250*time.Millisecond).Should(Succeed())
}

// binDir holds the five controllers, built once for the package.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gotk-dev-controllers-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// controllerPrograms builds the controllers in one `go build` (the five
// links run in parallel) the first time a test asks.
var controllerPrograms = sync.OnceValue(func() error {
	return testenv.BuildPrograms(binDir, localcluster.ControllerNames...)
})

func buildControllers(t *testing.T) string {
	t.Helper()
	if err := controllerPrograms(); err != nil {
		t.Fatal(err)
	}
	return binDir
}

func seedDir(t *testing.T) string {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "examples", "seed", "app-repo-corrected")
}

// TestBootstrapOnLocalControlPlane bootstraps an empty repository on a
// Git server with basic auth, as `gotk bootstrap git` does, against the
// controllers running as processes; a rerun changes nothing.
func TestBootstrapOnLocalControlPlane(t *testing.T) {
	g := NewWithT(t)
	binDir := buildControllers(t)
	// Four bootstraps, each waiting for a sync of 42 objects: generous on
	// a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s, err := start(ctx, options{stateDir: t.TempDir(), binDir: binDir, timeout: 2 * time.Minute, noDemo: true})
	g.Expect(err).NotTo(HaveOccurred())
	defer s.stop()

	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{Auth: testserver.BasicAuth{Username: "git", Password: "token"}})
	g.Expect(srv.CreateRepo("fleet")).To(Succeed())
	var log strings.Builder
	opts := bootstrap.Options{
		URL: srv.URL("fleet"), Branch: "main", Path: "clusters/dev", Namespace: Namespace, Timeout: 3 * time.Minute, Log: &log,
		Auth:       &git.Auth{Username: "git", Password: "token"},
		SecretData: map[string][]byte{"username": []byte("git"), "password": []byte("token")},
		Author:     git.Signature{Name: "gotk", Email: "gotk@localhost"},
		Install:    install.DefaultOptions(),
	}
	revision, err := bootstrap.Run(ctx, s.env.Client, opts)
	g.Expect(err).NotTo(HaveOccurred(), log.String())
	head, err := srv.Resolve("fleet", "main")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(revision).To(Equal("main@sha1:" + head))
	g.Expect(log.String()).To(ContainSubstring("bootstrap finished"))

	// A rerun finds the manifests up to date: no new commit, same revision.
	log.Reset()
	again, err := bootstrap.Run(ctx, s.env.Client, opts)
	g.Expect(err).NotTo(HaveOccurred(), log.String())
	g.Expect(again).To(Equal(revision))
	g.Expect(log.String()).To(ContainSubstring("up to date"))

	// An upgrade of the components (a new image tag) is one new commit, synced.
	upgrade := opts
	upgrade.Install.ImageTag = "v0.2.0"
	upgraded, err := bootstrap.Run(ctx, s.env.Client, upgrade)
	g.Expect(err).NotTo(HaveOccurred(), log.String())
	g.Expect(upgraded).NotTo(Equal(revision))
	components := gitShow(t, srv, "fleet", "main", "clusters/dev/flux-system/gotk-components.yaml")
	g.Expect(components).To(ContainSubstring("source-controller:v0.2.0"))

	// Unreachable repository: one clear error.
	unreachable := opts
	unreachable.URL = "http://127.0.0.1:1/nothing"
	_, err = bootstrap.Run(ctx, s.env.Client, unreachable)
	g.Expect(err).To(MatchError(ContainSubstring("cloning http://127.0.0.1:1/nothing")))

	// Wrong credentials: one clear error, nothing pushed.
	bad := opts
	bad.Auth = &git.Auth{Username: "git", Password: "wrong"}
	_, err = bootstrap.Run(ctx, s.env.Client, bad)
	g.Expect(err).To(MatchError(ContainSubstring("authentication")))
	g.Expect(err.Error()).NotTo(ContainSubstring("wrong"))
	// A path outside the repository is refused.
	outside := opts
	outside.Path = "../escape"
	_, err = bootstrap.Run(ctx, s.env.Client, outside)
	g.Expect(err).To(MatchError(ContainSubstring("--path")))

	// Over SSH with a deploy key and the scanned host key, the cluster
	// moves to the new repository.
	sshSrv := testserver.NewGitSSHForTest(t, testserver.GitSSHOptions{})
	g.Expect(sshSrv.CreateRepo("fleet-ssh")).To(Succeed())
	key, err := sshSrv.NewClientKey()
	g.Expect(err).NotTo(HaveOccurred())
	u, err := git.ParseURL(sshSrv.URL("fleet-ssh"))
	g.Expect(err).NotTo(HaveOccurred())
	knownHosts, err := bootstrap.ScanKnownHosts(ctx, u)
	g.Expect(err).NotTo(HaveOccurred())
	viaSSH := opts
	viaSSH.URL = sshSrv.URL("fleet-ssh")
	viaSSH.Auth = &git.Auth{Identity: key.PrivateKeyPEM, KnownHosts: knownHosts}
	viaSSH.SecretData = map[string][]byte{"identity": key.PrivateKeyPEM, "known_hosts": knownHosts}
	revision, err = bootstrap.Run(ctx, s.env.Client, viaSSH)
	g.Expect(err).NotTo(HaveOccurred(), log.String())
	head, err = sshSrv.Resolve("fleet-ssh", "main")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(revision).To(Equal("main@sha1:" + head))
	g.Expect(log.String()).To(ContainSubstring("moving the cluster's sync to " + viaSSH.URL))
	ks := &kustomizev1.Kustomization{}
	g.Expect(s.env.Client.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: bootstrap.Name}, ks)).To(Succeed())
	g.Expect(ks.Spec.Suspend).To(BeFalse(), "the Kustomization is resumed after the move")
}

// gitShow reads a file at a branch of a test server repository.
func gitShow(t *testing.T, srv *testserver.GitHTTP, repo, branch, file string) string {
	t.Helper()
	path, err := srv.Path(repo)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "--git-dir", path, "show", branch+":"+file).Output()
	if err != nil {
		t.Fatalf("git show %s:%s: %v", branch, file, err)
	}
	return string(out)
}
