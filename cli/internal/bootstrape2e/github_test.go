package bootstrape2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/bootstrap"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testserver/githubapi"
)

const token = "ghp_seedguide"

// TestBootstrapGitHubSeedCommand runs the seed guide's first command,
// `gotk bootstrap github --owner=myorg --repository=k8s-manifests
// --branch=main --path=clusters/production --personal`, against GitHub's
// REST API served locally: the repository is created private, a read-only
// deploy key named as Flux names it is registered, the manifests are
// pushed to the real Git server and the cluster syncs them over SSH with
// the key kept in a Secret that is applied, not committed. A rerun writes
// nothing; a bad token, a missing owner and a repository whose
// flux-system folder holds other content each stop with a clear error
// before anything is written.
func TestBootstrapGitHubSeedCommand(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	srv := githubapi.New(t, token, "myorg")
	t.Setenv("GITHUB_TOKEN", token)
	t.Setenv("GITHUB_API_URL", srv.URL())
	startControllers(t)

	seed := []string{"bootstrap", "github", "--owner=myorg", "--repository=k8s-manifests", "--branch=main", "--path=clusters/production", "--personal"}
	out, err := gotk(seed...)
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("repository myorg/k8s-manifests created (private)"))

	repo := srv.Repo("myorg", "k8s-manifests")
	g.Expect(repo).NotTo(BeNil())
	g.Expect(repo.Private).To(BeTrue())
	g.Expect(repo.Keys).To(HaveLen(1))
	g.Expect(repo.Keys[0].Title).To(Equal("flux-system-main-flux-system-./clusters/production"))
	g.Expect(repo.Keys[0].ReadOnly).To(BeTrue())
	writes := srv.Writes()
	g.Expect(writes).To(Equal([]string{"POST /user/repos", "POST /repos/myorg/k8s-manifests/keys"}))

	// The cluster holds the key; the repository holds only the manifests.
	secret := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: bootstrap.Name}, secret)).To(Succeed())
	g.Expect(secret.Data).To(HaveKey("identity"))
	g.Expect(secret.Data).To(HaveKey("known_hosts"))
	g.Expect(strings.TrimSpace(string(secret.Data["identity.pub"]))).To(HavePrefix(repo.Keys[0].Key))
	gitPath := githubapi.GitPath("myorg", "k8s-manifests")
	g.Expect(gitFiles(t, srv, gitPath)).To(Equal([]string{
		"clusters/production/flux-system/gotk-components.yaml",
		"clusters/production/flux-system/gotk-sync.yaml",
		"clusters/production/flux-system/kustomization.yaml",
	}))
	head, err := srv.Git.Resolve(gitPath, "main")
	g.Expect(err).NotTo(HaveOccurred())
	gitRepo := &sourcev1.GitRepository{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: bootstrap.Name}, gitRepo)).To(Succeed())
	g.Expect(gitRepo.Spec.URL).To(Equal(srv.SSH.URL(gitPath)))
	ks := &kustomizev1.Kustomization{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: bootstrap.Name}, ks)).To(Succeed())
	g.Expect(ks.Status.LastAppliedRevision).To(Equal("main@sha1:" + head))
	g.Expect(ks.Spec.Path).To(Equal("./clusters/production"))

	// A rerun: no API write, no commit.
	out, err = gotk(seed...)
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("manifests in the repository are up to date"))
	g.Expect(out).To(ContainSubstring("is up to date"))
	g.Expect(srv.Writes()).To(Equal(writes))
	g.Expect(srv.Git.Resolve(gitPath, "main")).To(Equal(head))

	for _, tc := range []struct {
		name  string
		token string
		args  []string
		err   string
	}{{
		name: "bad token", token: "ghp_wrong", args: seed,
		err: "the token was rejected (401 Bad credentials): check GITHUB_TOKEN",
	}, {
		name: "missing owner",
		args: []string{"bootstrap", "github", "--owner=ghost", "--repository=k8s-manifests", "--path=clusters/production"},
		err:  `--owner "ghost": no such GitHub organization (add --personal for a user account)`,
	}, {
		name: "existing repository with other content",
		args: []string{"bootstrap", "github", "--owner=myorg", "--repository=legacy", "--path=clusters/production", "--personal"},
		err:  "the repository's clusters/production/flux-system holds files bootstrap does not manage (notes.md)",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			if tc.token != "" {
				t.Setenv("GITHUB_TOKEN", tc.token)
			}
			if tc.name == "existing repository with other content" {
				g.Expect(srv.AddRepo("myorg", "legacy", true)).To(Succeed())
				_, err := srv.Git.CommitFiles(githubapi.GitPath("myorg", "legacy"), "main",
					map[string]string{"clusters/production/flux-system/notes.md": "ours\n"}, "notes")
				g.Expect(err).NotTo(HaveOccurred())
			}
			out, err := gotk(tc.args...)
			g.Expect(err).To(MatchError(ContainSubstring(tc.err)), out)
			g.Expect(err.Error()).NotTo(ContainSubstring(token))
			// Nothing half-done: no API write, no push, the cluster untouched.
			g.Expect(srv.Writes()).To(Equal(writes))
			g.Expect(srv.Git.Resolve(gitPath, "main")).To(Equal(head))
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: bootstrap.Name}, gitRepo)).To(Succeed())
			g.Expect(gitRepo.Spec.URL).To(Equal(srv.SSH.URL(gitPath)))
		})
	}
}

// gitFiles lists the files at main of a repository of the server.
func gitFiles(t *testing.T, srv *githubapi.Server, repo string) []string {
	t.Helper()
	dir, err := srv.Git.Path(repo)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "--git-dir", dir, "ls-tree", "-r", "--name-only", "main").Output()
	if err != nil {
		t.Fatalf("git ls-tree: %v", err)
	}
	return strings.Fields(string(out))
}

// TestBootstrapGitHubTokenAuthOrganization bootstraps an organization's
// public repository with a team and --token-auth: the cluster syncs over
// HTTPS with the token (no deploy key), the team has its access, and
// --reconcile later makes the repository private without a new commit.
func TestBootstrapGitHubTokenAuthOrganization(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	srv := githubapi.New(t, token, "someone")
	srv.AddOrg("acme", "sre")
	t.Setenv("GITHUB_TOKEN", token)
	t.Setenv("GITHUB_API_URL", srv.URL())
	startControllers(t)

	args := []string{"bootstrap", "github", "--owner=acme", "--repository=fleet", "--path=clusters/staging",
		"--token-auth", "--team=sre", "--private=false"}
	out, err := gotk(args...)
	g.Expect(err).NotTo(HaveOccurred(), out)
	repo := srv.Repo("acme", "fleet")
	g.Expect(repo.Private).To(BeFalse())
	g.Expect(repo.Teams).To(Equal(map[string]string{"sre": "maintain"}))
	g.Expect(repo.Keys).To(BeEmpty())
	g.Expect(srv.Writes()).To(Equal([]string{"POST /orgs/acme/repos", "PUT /orgs/acme/teams/sre/repos/acme/fleet"}))

	gitPath := githubapi.GitPath("acme", "fleet")
	gitRepo := &sourcev1.GitRepository{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: bootstrap.Name}, gitRepo)).To(Succeed())
	g.Expect(gitRepo.Spec.URL).To(Equal(srv.Git.URL(gitPath)))
	secret := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: bootstrap.Name}, secret)).To(Succeed())
	g.Expect(string(secret.Data["username"])).To(Equal("git"))
	g.Expect(string(secret.Data["password"])).To(Equal(token))
	head, err := srv.Git.Resolve(gitPath, "main")
	g.Expect(err).NotTo(HaveOccurred())

	// --reconcile --private: one PATCH, nothing else written, no commit.
	out, err = gotk(append(args[:len(args)-1], "--reconcile")...)
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(srv.Repo("acme", "fleet").Private).To(BeTrue())
	g.Expect(srv.Writes()).To(Equal([]string{"POST /orgs/acme/repos", "PUT /orgs/acme/teams/sre/repos/acme/fleet", "PATCH /repos/acme/fleet"}))
	g.Expect(srv.Git.Resolve(gitPath, "main")).To(Equal(head))
}
