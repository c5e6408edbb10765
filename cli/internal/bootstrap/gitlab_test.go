package bootstrap

import (
	"context"
	"testing"

	"gotk.dev/pkg/testserver/gitlabapi"
)

// TestBootstrapGitLabProject reconciles projects through the GitLab REST
// API served locally: what is created, what a rerun writes (nothing), and
// that a bad token, a missing owner or group writes nothing.
func TestBootstrapGitLabProject(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		setup      func(s *gitlabapi.Server)
		opts       GitLabOptions
		err        string
		writes     []string
		visibility string
		shared     map[string]int64
	}{{
		name:   "personal project is created private",
		opts:   GitLabOptions{Owner: "me", Repository: "fleet", Personal: true, Private: true},
		writes: []string{"POST /api/v4/projects"}, visibility: "private",
	}, {
		name:   "group project, public, shared with a group",
		setup:  func(s *gitlabapi.Server) { s.AddGroup("acme"); s.AddGroup("acme/sre") },
		opts:   GitLabOptions{Owner: "acme", Repository: "fleet", Teams: []string{"acme/sre"}},
		writes: []string{"POST /api/v4/projects", "POST /api/v4/projects/acme%2Ffleet/share"}, visibility: "public",
		shared: map[string]int64{"acme/sre": 40},
	}, {
		name:       "existing public project is left public without --reconcile",
		setup:      func(s *gitlabapi.Server) { mustAddProject(t, s, "me", "fleet", "public") },
		opts:       GitLabOptions{Owner: "me", Repository: "fleet", Personal: true, Private: true},
		visibility: "public",
	}, {
		name:   "existing public project is made private with --reconcile",
		setup:  func(s *gitlabapi.Server) { mustAddProject(t, s, "me", "fleet", "public") },
		opts:   GitLabOptions{Owner: "me", Repository: "fleet", Personal: true, Private: true, Reconcile: true},
		writes: []string{"PUT /api/v4/projects/me%2Ffleet"}, visibility: "private",
	}, {
		name: "a bad token is refused before anything is written",
		opts: GitLabOptions{Owner: "me", Repository: "fleet", Personal: true, Token: "wrong"},
		err:  "the token was rejected (401): check GITLAB_TOKEN",
	}, {
		name: "a missing group",
		opts: GitLabOptions{Owner: "nobody", Repository: "fleet"},
		err:  `--owner "nobody": no such GitLab group (add --personal for a user account)`,
	}, {
		name: "a missing user",
		opts: GitLabOptions{Owner: "nobody", Repository: "fleet", Personal: true},
		err:  `--owner "nobody": no such GitLab user`,
	}, {
		name:  "a missing group to share with",
		setup: func(s *gitlabapi.Server) { s.AddGroup("acme") },
		opts:  GitLabOptions{Owner: "acme", Repository: "fleet", Teams: []string{"ghosts"}},
		err:   `--team "ghosts": no such GitLab group`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s := gitlabapi.New(t, testToken, "me")
			if tc.setup != nil {
				tc.setup(s)
			}
			o := tc.opts
			o.APIURL = s.URL()
			if o.Token == "" {
				o.Token = testToken
			}
			gl, err := NewGitLab(o)
			if err != nil {
				t.Fatal(err)
			}
			repo, err := gl.ReconcileRepository(ctx)
			if tc.err != "" {
				checkRefused(t, err, tc.err, s.Writes(), s.Project(o.Owner, o.Repository) != nil)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := s.Project(o.Owner, o.Repository)
			if got == nil || got.Visibility != tc.visibility {
				t.Fatalf("project %+v; want visibility %s", got, tc.visibility)
			}
			checkCloneURLs(t, repo, s.Git.URL(gitlabapi.GitPath(o.Owner, o.Repository)), s.SSH.URL(gitlabapi.GitPath(o.Owner, o.Repository)))
			for group, access := range tc.shared {
				if got.SharedWith[group] != access {
					t.Fatalf("group %s has access %d; want %d", group, got.SharedWith[group], access)
				}
			}
			checkWrites(t, s.Writes(), tc.writes)
			checkRerunWritesNothing(t, gl.ReconcileRepository, s.Writes)
		})
	}
}

// TestBootstrapGitLabDeployKey: the key is added once with Flux's name, a
// rerun writes nothing, a different key or access replaces it.
func TestBootstrapGitLabDeployKey(t *testing.T) {
	s := gitlabapi.New(t, testToken, "me")
	mustAddProject(t, s, "me", "fleet", "private")
	gl, err := NewGitLab(GitLabOptions{Owner: "me", Repository: "fleet", Personal: true, Token: testToken, APIURL: s.URL()})
	if err != nil {
		t.Fatal(err)
	}
	testDeployKeySteps(t, gl.ReconcileDeployKey, func() []deployKeyState {
		var out []deployKeyState
		for _, k := range s.Project("me", "fleet").Keys {
			out = append(out, deployKeyState{Title: k.Title, Key: k.Key, ReadOnly: !k.CanPush})
		}
		return out
	}, s.Writes)
}

func mustAddProject(t *testing.T, s *gitlabapi.Server, namespace, path, visibility string) {
	t.Helper()
	if err := s.AddProject(namespace, path, visibility); err != nil {
		t.Fatal(err)
	}
}
