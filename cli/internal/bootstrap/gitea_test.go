package bootstrap

import (
	"context"
	"slices"
	"testing"

	"gotk.dev/pkg/testserver/giteaapi"
)

// TestBootstrapGiteaRepository reconciles repositories through the Gitea
// REST API served locally: what is created, what a rerun writes (nothing),
// and that a bad token, a missing owner or team writes nothing.
func TestBootstrapGiteaRepository(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		setup   func(s *giteaapi.Server)
		opts    GiteaOptions
		err     string
		writes  []string
		private bool
		teams   []string
	}{{
		name:   "personal repository is created private",
		opts:   GiteaOptions{Owner: "me", Repository: "fleet", Personal: true, Private: true},
		writes: []string{"POST /api/v1/user/repos"}, private: true,
	}, {
		name:   "organization repository, public, with a team",
		setup:  func(s *giteaapi.Server) { s.AddOrg("acme", "sre", "devs") },
		opts:   GiteaOptions{Owner: "acme", Repository: "fleet", Teams: []string{"sre"}},
		writes: []string{"POST /api/v1/orgs/acme/repos", "PUT /api/v1/repos/acme/fleet/teams/sre"},
		teams:  []string{"sre"},
	}, {
		name:   "existing public repository is made private with --reconcile",
		setup:  func(s *giteaapi.Server) { mustAddGiteaRepo(t, s, "me", "fleet", false) },
		opts:   GiteaOptions{Owner: "me", Repository: "fleet", Personal: true, Private: true, Reconcile: true},
		writes: []string{"PATCH /api/v1/repos/me/fleet"}, private: true,
	}, {
		name:  "existing public repository is left public without --reconcile",
		setup: func(s *giteaapi.Server) { mustAddGiteaRepo(t, s, "me", "fleet", false) },
		opts:  GiteaOptions{Owner: "me", Repository: "fleet", Personal: true, Private: true},
	}, {
		name: "a bad token is refused before anything is written",
		opts: GiteaOptions{Owner: "me", Repository: "fleet", Personal: true, Token: "wrong"},
		err:  "the token was rejected (401): check GITEA_TOKEN",
	}, {
		name: "a missing organization",
		opts: GiteaOptions{Owner: "nobody", Repository: "fleet"},
		err:  `--owner "nobody": no such Gitea organization (add --personal for a user account)`,
	}, {
		name: "a missing user",
		opts: GiteaOptions{Owner: "nobody", Repository: "fleet", Personal: true},
		err:  `--owner "nobody": no such Gitea user`,
	}, {
		name:  "a missing team",
		setup: func(s *giteaapi.Server) { s.AddOrg("acme") },
		opts:  GiteaOptions{Owner: "acme", Repository: "fleet", Teams: []string{"ghosts"}},
		err:   `--team "ghosts": no such team in organization "acme"`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s := giteaapi.New(t, testToken, "me")
			if tc.setup != nil {
				tc.setup(s)
			}
			o := tc.opts
			o.APIURL = s.URL()
			if o.Token == "" {
				o.Token = testToken
			}
			gt, err := NewGitea(o)
			if err != nil {
				t.Fatal(err)
			}
			repo, err := gt.ReconcileRepository(ctx)
			if tc.err != "" {
				checkRefused(t, err, tc.err, s.Writes(), s.Repo(o.Owner, o.Repository) != nil)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := s.Repo(o.Owner, o.Repository)
			if got == nil || got.Private != tc.private || !slices.Equal(got.Teams, tc.teams) {
				t.Fatalf("repository %+v; want private=%v teams=%v", got, tc.private, tc.teams)
			}
			checkCloneURLs(t, repo, s.Git.URL(giteaapi.GitPath(o.Owner, o.Repository)), s.SSH.URL(giteaapi.GitPath(o.Owner, o.Repository)))
			checkWrites(t, s.Writes(), tc.writes)
			checkRerunWritesNothing(t, gt.ReconcileRepository, s.Writes)
		})
	}
}

// TestBootstrapGiteaDeployKey: the key is added once with Flux's name, a
// rerun writes nothing, a different key or access replaces it.
func TestBootstrapGiteaDeployKey(t *testing.T) {
	s := giteaapi.New(t, testToken, "me")
	mustAddGiteaRepo(t, s, "me", "fleet", true)
	gt, err := NewGitea(GiteaOptions{Owner: "me", Repository: "fleet", Personal: true, Token: testToken, APIURL: s.URL()})
	if err != nil {
		t.Fatal(err)
	}
	testDeployKeySteps(t, gt.ReconcileDeployKey, func() []deployKeyState {
		var out []deployKeyState
		for _, k := range s.Repo("me", "fleet").Keys {
			out = append(out, deployKeyState{Title: k.Title, Key: k.Key, ReadOnly: k.ReadOnly})
		}
		return out
	}, s.Writes)
}

func mustAddGiteaRepo(t *testing.T, s *giteaapi.Server, owner, name string, private bool) {
	t.Helper()
	if err := s.AddRepo(owner, name, private); err != nil {
		t.Fatal(err)
	}
}
