package bootstrap

import (
	"context"
	"testing"

	"gotk.dev/pkg/testserver/githubapi"
)

const testToken = "ghp_local"

// TestBootstrapGitHubRepository reconciles repositories through the GitHub
// REST API served locally: what is created, what a rerun writes (nothing),
// and that a bad token, a missing owner or team writes nothing.
func TestBootstrapGitHubRepository(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		setup   func(s *githubapi.Server)
		opts    GitHubOptions
		err     string
		writes  []string
		private bool
		teams   map[string]string
	}{{
		name:   "personal repository is created private",
		opts:   GitHubOptions{Owner: "me", Repository: "fleet", Personal: true, Private: true},
		writes: []string{"POST /user/repos"}, private: true,
	}, {
		name:   "organization repository, public, with teams",
		setup:  func(s *githubapi.Server) { s.AddOrg("myorg", "sre", "devs") },
		opts:   GitHubOptions{Owner: "myorg", Repository: "fleet", Private: false, Teams: []string{"sre", "devs:pull"}},
		writes: []string{"POST /orgs/myorg/repos", "PUT /orgs/myorg/teams/devs/repos/myorg/fleet", "PUT /orgs/myorg/teams/sre/repos/myorg/fleet"},
		teams:  map[string]string{"sre": "maintain", "devs": "pull"},
	}, {
		name:  "existing public repository is left public without --reconcile",
		setup: func(s *githubapi.Server) { mustAddRepo(t, s, "me", "fleet", false) },
		opts:  GitHubOptions{Owner: "me", Repository: "fleet", Personal: true, Private: true},
	}, {
		name:   "existing public repository is made private with --reconcile",
		setup:  func(s *githubapi.Server) { mustAddRepo(t, s, "me", "fleet", false) },
		opts:   GitHubOptions{Owner: "me", Repository: "fleet", Personal: true, Private: true, Reconcile: true},
		writes: []string{"PATCH /repos/me/fleet"}, private: true,
	}, {
		name: "a bad token is refused before anything is written",
		opts: GitHubOptions{Owner: "me", Repository: "fleet", Personal: true, Token: "wrong"},
		err:  "the token was rejected (401 Bad credentials): check GITHUB_TOKEN",
	}, {
		name: "a missing organization",
		opts: GitHubOptions{Owner: "nobody", Repository: "fleet"},
		err:  `--owner "nobody": no such GitHub organization (add --personal for a user account)`,
	}, {
		name: "a missing user",
		opts: GitHubOptions{Owner: "nobody", Repository: "fleet", Personal: true},
		err:  `--owner "nobody": no such GitHub user`,
	}, {
		name:  "another user's account cannot get a new repository",
		setup: func(s *githubapi.Server) { s.AddUser("someone") },
		opts:  GitHubOptions{Owner: "someone", Repository: "fleet", Personal: true},
		err:   `the token belongs to "me"`,
	}, {
		name:  "a missing team",
		setup: func(s *githubapi.Server) { s.AddOrg("myorg") },
		opts:  GitHubOptions{Owner: "myorg", Repository: "fleet", Teams: []string{"ghosts"}},
		err:   `--team "ghosts": no such team in organization "myorg"`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s := githubapi.New(t, testToken, "me")
			if tc.setup != nil {
				tc.setup(s)
			}
			o := tc.opts
			o.APIURL = s.URL()
			if o.Token == "" {
				o.Token = testToken
			}
			gh, err := NewGitHub(o)
			if err != nil {
				t.Fatal(err)
			}
			repo, err := gh.ReconcileRepository(ctx)
			if tc.err != "" {
				checkRefused(t, err, tc.err, s.Writes(), s.Repo(o.Owner, o.Repository) != nil)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := s.Repo(o.Owner, o.Repository)
			if got == nil || got.Private != tc.private {
				t.Fatalf("repository %+v; want private=%v", got, tc.private)
			}
			checkCloneURLs(t, repo, s.Git.URL(githubapi.GitPath(o.Owner, o.Repository)), s.SSH.URL(githubapi.GitPath(o.Owner, o.Repository)))
			for slug, perm := range tc.teams {
				if got.Teams[slug] != perm {
					t.Fatalf("team %s has %q; want %q", slug, got.Teams[slug], perm)
				}
			}
			checkWrites(t, s.Writes(), tc.writes)
			// A rerun writes nothing.
			checkRerunWritesNothing(t, gh.ReconcileRepository, s.Writes)
		})
	}
}

// TestBootstrapGitHubDeployKey: the key is added once with Flux's name, a
// rerun writes nothing, a different key or access replaces it.
func TestBootstrapGitHubDeployKey(t *testing.T) {
	s := githubapi.New(t, testToken, "me")
	mustAddRepo(t, s, "me", "fleet", true)
	gh, err := NewGitHub(GitHubOptions{Owner: "me", Repository: "fleet", Personal: true, Token: testToken, APIURL: s.URL()})
	if err != nil {
		t.Fatal(err)
	}
	name := DeployKeyName("flux-system", "main", "clusters/production")
	if name != "flux-system-main-flux-system-./clusters/production" {
		t.Fatalf("deploy key name %q", name)
	}
	testDeployKeySteps(t, gh.ReconcileDeployKey, func() []deployKeyState {
		var out []deployKeyState
		for _, k := range s.Repo("me", "fleet").Keys {
			out = append(out, deployKeyState{Title: k.Title, Key: k.Key, ReadOnly: k.ReadOnly})
		}
		return out
	}, s.Writes)
}

func mustAddRepo(t *testing.T, s *githubapi.Server, owner, name string, private bool) {
	t.Helper()
	if err := s.AddRepo(owner, name, private); err != nil {
		t.Fatal(err)
	}
}
