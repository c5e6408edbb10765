package bootstrape2e

import (
	"context"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/bootstrap"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/testserver/gitlabapi"
)

// TestBootstrapGitLabPersonal runs the seed guide's command with gitlab
// for github against GitLab's v4 REST API served locally: a private
// project, a read-only deploy key named as Flux names it, the cluster
// synced over SSH; a rerun writes nothing; a bad token stops before any
// write.
func TestBootstrapGitLabPersonal(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	srv := gitlabapi.New(t, token, "myorg")
	t.Setenv("GITLAB_TOKEN", token)
	t.Setenv("CI_API_V4_URL", srv.URL())
	startControllers(t)

	args := []string{"bootstrap", "gitlab", "--owner=myorg", "--repository=k8s-manifests", "--branch=main", "--path=clusters/production", "--personal"}
	out, err := gotk(args...)
	g.Expect(err).NotTo(HaveOccurred(), out)
	project := srv.Project("myorg", "k8s-manifests")
	g.Expect(project).NotTo(BeNil())
	g.Expect(project.Visibility).To(Equal("private"))
	g.Expect(project.Keys).To(HaveLen(1))
	g.Expect(project.Keys[0].Title).To(Equal("flux-system-main-flux-system-./clusters/production"))
	g.Expect(project.Keys[0].CanPush).To(BeFalse())
	writes := srv.Writes()
	g.Expect(writes).To(Equal([]string{"POST /api/v4/projects", "POST /api/v4/projects/myorg%2Fk8s-manifests/deploy_keys"}))

	secret := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: bootstrap.Name}, secret)).To(Succeed())
	g.Expect(strings.TrimSpace(string(secret.Data["identity.pub"]))).To(HavePrefix(project.Keys[0].Key))
	gitPath := gitlabapi.GitPath("myorg", "k8s-manifests")
	head, err := srv.Git.Resolve(gitPath, "main")
	g.Expect(err).NotTo(HaveOccurred())
	ks := &kustomizev1.Kustomization{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: bootstrap.Name}, ks)).To(Succeed())
	g.Expect(ks.Status.LastAppliedRevision).To(Equal("main@sha1:" + head))

	out, err = gotk(args...)
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(srv.Writes()).To(Equal(writes))
	g.Expect(srv.Git.Resolve(gitPath, "main")).To(Equal(head))

	t.Setenv("GITLAB_TOKEN", "glpat-wrong")
	_, err = gotk(args...)
	g.Expect(err).To(MatchError(ContainSubstring("the token was rejected (401): check GITLAB_TOKEN")))
	g.Expect(srv.Writes()).To(Equal(writes))
}
