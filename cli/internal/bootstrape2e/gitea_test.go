package bootstrape2e

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/bootstrap"
	"gotk.dev/cli/internal/install"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/git"
	"gotk.dev/pkg/testserver/giteaapi"
)

// TestBootstrapGiteaOrganization bootstraps an organization's repository
// on Gitea's v1 REST API served locally, with a team and a read-write
// deploy key: the cluster syncs over SSH; a rerun writes nothing.
func TestBootstrapGiteaOrganization(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	srv := giteaapi.New(t, token, "someone")
	srv.AddOrg("acme", "sre")
	startControllers(t)

	var log strings.Builder
	gt, err := bootstrap.NewGitea(bootstrap.GiteaOptions{Owner: "acme", Repository: "fleet", Private: true, Teams: []string{"sre"},
		APIURL: srv.URL(), Token: token, Log: &log})
	g.Expect(err).NotTo(HaveOccurred())
	o := bootstrap.HostedOptions{
		Options: bootstrap.Options{Branch: "main", Path: "clusters/edge", Namespace: namespace, Timeout: 3 * time.Minute, Log: &log,
			Author: git.Signature{Name: "gotk", Email: "gotk@localhost"}, Install: install.DefaultOptions()},
		Token: token, TokenUser: "git", ReadWriteKey: true,
	}
	revision, err := bootstrap.RunHosted(ctx, env.Client, gt, o)
	g.Expect(err).NotTo(HaveOccurred(), log.String())

	repo := srv.Repo("acme", "fleet")
	g.Expect(repo.Private).To(BeTrue())
	g.Expect(repo.Teams).To(Equal([]string{"sre"}))
	g.Expect(repo.Keys).To(HaveLen(1))
	g.Expect(repo.Keys[0].Title).To(Equal("flux-system-main-flux-system-./clusters/edge"))
	g.Expect(repo.Keys[0].ReadOnly).To(BeFalse())
	writes := srv.Writes()
	g.Expect(writes).To(Equal([]string{"POST /api/v1/orgs/acme/repos", "PUT /api/v1/repos/acme/fleet/teams/sre", "POST /api/v1/repos/acme/fleet/keys"}))
	head, err := srv.Git.Resolve(giteaapi.GitPath("acme", "fleet"), "main")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(revision).To(Equal("main@sha1:" + head))
	ks := &kustomizev1.Kustomization{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: bootstrap.Name}, ks)).To(Succeed())
	g.Expect(ks.Status.LastAppliedRevision).To(Equal(revision))

	again, err := bootstrap.RunHosted(ctx, env.Client, gt, o)
	g.Expect(err).NotTo(HaveOccurred(), log.String())
	g.Expect(again).To(Equal(revision))
	g.Expect(srv.Writes()).To(Equal(writes))
}
