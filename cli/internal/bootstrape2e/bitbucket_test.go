package bootstrape2e

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/bootstrap"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testserver/bitbucketapi"
)

// TestBootstrapBitbucketServerProject runs the seed guide's command with
// bitbucket-server for github (a project, a group, --username) against
// Bitbucket Server's REST API served locally: a private repository in the
// project, the group given write access, a read-only access key named as
// Flux names it, the cluster synced over SSH; a rerun writes nothing; a
// bad token, a missing project and a repository whose flux-system folder
// holds other content each stop with a clear error and nothing written,
// pushed or changed in the cluster.
func TestBootstrapBitbucketServerProject(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	srv := bitbucketapi.New(t, token, "flux")
	srv.AddProject("My Org", "MYORG")
	srv.AddGroup("sre")
	t.Setenv("BITBUCKET_TOKEN", token)
	startControllers(t)

	args := []string{"bootstrap", "bitbucket-server", "--owner=My Org", "--username=flux", "--hostname=" + srv.URL(),
		"--repository=k8s-manifests", "--branch=main", "--path=clusters/production", "--group=sre"}
	out, err := gotk(args...)
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("repository MYORG/k8s-manifests created (private)"))

	repo := srv.Repo("MYORG", "k8s-manifests")
	g.Expect(repo).NotTo(BeNil())
	g.Expect(repo.Public).To(BeFalse())
	g.Expect(repo.Groups).To(Equal(map[string]string{"sre": "REPO_WRITE"}))
	g.Expect(repo.Keys).To(HaveLen(1))
	g.Expect(repo.Keys[0].Label).To(Equal("flux-system-main-flux-system-./clusters/production"))
	g.Expect(repo.Keys[0].Permission).To(Equal("REPO_READ"))
	writes := srv.Writes()
	g.Expect(writes).To(Equal([]string{
		"POST /rest/api/1.0/projects/MYORG/repos",
		"PUT /rest/api/1.0/projects/MYORG/repos/k8s-manifests/permissions/groups",
		"POST /rest/keys/1.0/projects/MYORG/repos/k8s-manifests/ssh",
	}))

	gitPath := bitbucketapi.GitPath("MYORG", "k8s-manifests")
	secret := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: bootstrap.Name}, secret)).To(Succeed())
	g.Expect(string(secret.Data["identity.pub"])).To(HavePrefix(repo.Keys[0].Text))
	gitRepo := &sourcev1.GitRepository{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: bootstrap.Name}, gitRepo)).To(Succeed())
	g.Expect(gitRepo.Spec.URL).To(Equal(srv.SSH.URL(gitPath)))
	head, err := srv.Git.Resolve(gitPath, "main")
	g.Expect(err).NotTo(HaveOccurred())
	ks := &kustomizev1.Kustomization{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: bootstrap.Name}, ks)).To(Succeed())
	g.Expect(ks.Status.LastAppliedRevision).To(Equal("main@sha1:" + head))

	out, err = gotk(args...)
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("manifests in the repository are up to date"))
	g.Expect(srv.Writes()).To(Equal(writes))
	g.Expect(srv.Git.Resolve(gitPath, "main")).To(Equal(head))

	for _, tc := range []struct {
		name  string
		token string
		args  []string
		err   string
	}{{
		name: "bad token", token: "wrong", args: args,
		err: "the token was rejected (401): check BITBUCKET_TOKEN and --username",
	}, {
		name: "missing owner",
		args: []string{"bootstrap", "bitbucket-server", "--owner=Ghosts", "--username=flux", "--hostname=" + srv.URL(), "--repository=k8s-manifests", "--path=clusters/production"},
		err:  `--owner "Ghosts": no such Bitbucket Server project (add --personal for a user account)`,
	}, {
		name: "existing repository with other content",
		args: []string{"bootstrap", "bitbucket-server", "--owner=flux", "--personal", "--username=flux", "--hostname=" + srv.URL(), "--repository=legacy", "--path=clusters/production"},
		err:  "the repository's clusters/production/flux-system holds files bootstrap does not manage (notes.md)",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			if tc.token != "" {
				t.Setenv("BITBUCKET_TOKEN", tc.token)
			}
			if tc.name == "existing repository with other content" {
				g.Expect(srv.AddRepo("~flux", "legacy", false)).To(Succeed())
				_, err := srv.Git.CommitFiles(bitbucketapi.GitPath("~flux", "legacy"), "main",
					map[string]string{"clusters/production/flux-system/notes.md": "ours\n"}, "notes")
				g.Expect(err).NotTo(HaveOccurred())
			}
			out, err := gotk(tc.args...)
			g.Expect(err).To(MatchError(ContainSubstring(tc.err)), out)
			g.Expect(err.Error()).NotTo(ContainSubstring(token))
			g.Expect(srv.Writes()).To(Equal(writes))
			g.Expect(srv.Git.Resolve(gitPath, "main")).To(Equal(head))
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: bootstrap.Name}, gitRepo)).To(Succeed())
			g.Expect(gitRepo.Spec.URL).To(Equal(srv.SSH.URL(gitPath)))
		})
	}
}
