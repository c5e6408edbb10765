package bootstrap

import (
	"context"
	"maps"
	"strings"
	"testing"

	"gotk.dev/pkg/testserver/bitbucketapi"
)

// TestBootstrapBitbucketServerRepository reconciles repositories through
// Bitbucket Server's REST API served locally: what is created, what a
// rerun writes (nothing), and that a bad token, a missing owner or group
// writes nothing.
func TestBootstrapBitbucketServerRepository(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		setup   func(s *bitbucketapi.Server)
		opts    BitbucketServerOptions
		project string
		err     string
		writes  []string
		public  bool
		groups  map[string]string
	}{{
		name:    "personal repository is created private",
		opts:    BitbucketServerOptions{Owner: "me", Repository: "fleet", Personal: true, Private: true},
		project: "~me", writes: []string{"POST /rest/api/1.0/projects/~me/repos"},
	}, {
		name:    "project repository, public, with a group",
		setup:   func(s *bitbucketapi.Server) { s.AddProject("Platform", "PLAT"); s.AddGroup("sre", "devs") },
		opts:    BitbucketServerOptions{Owner: "Platform", Repository: "fleet", Groups: []string{"sre"}},
		project: "PLAT", public: true, groups: map[string]string{"sre": "REPO_WRITE"},
		writes: []string{"POST /rest/api/1.0/projects/PLAT/repos", "PUT /rest/api/1.0/projects/PLAT/repos/fleet/permissions/groups"},
	}, {
		name:    "existing public repository is made private with --reconcile",
		setup:   func(s *bitbucketapi.Server) { mustAddBitbucketRepo(t, s, "~me", "fleet", true) },
		opts:    BitbucketServerOptions{Owner: "me", Repository: "fleet", Personal: true, Private: true, Reconcile: true},
		project: "~me", writes: []string{"PUT /rest/api/1.0/projects/~me/repos/fleet"},
	}, {
		name:    "existing public repository is left public without --reconcile",
		setup:   func(s *bitbucketapi.Server) { mustAddBitbucketRepo(t, s, "~me", "fleet", true) },
		opts:    BitbucketServerOptions{Owner: "me", Repository: "fleet", Personal: true, Private: true},
		project: "~me", public: true,
	}, {
		name: "a bad token is refused before anything is written",
		opts: BitbucketServerOptions{Owner: "me", Repository: "fleet", Personal: true, Token: "wrong"},
		err:  "the token was rejected (401): check BITBUCKET_TOKEN and --username", project: "~me",
	}, {
		name: "a missing project",
		opts: BitbucketServerOptions{Owner: "nobody", Repository: "fleet"},
		err:  `--owner "nobody": no such Bitbucket Server project (add --personal for a user account)`,
	}, {
		name: "a missing user",
		opts: BitbucketServerOptions{Owner: "nobody", Repository: "fleet", Personal: true},
		err:  `--owner "nobody": no such Bitbucket Server user`, project: "~nobody",
	}, {
		name:  "another user's account",
		setup: func(s *bitbucketapi.Server) { s.AddUser("other") },
		opts:  BitbucketServerOptions{Owner: "other", Repository: "fleet", Personal: true},
		err:   `--owner "other": the token belongs to "me" and can create repositories only for it`, project: "~other",
	}, {
		name:  "a missing group",
		setup: func(s *bitbucketapi.Server) { s.AddProject("Platform", "PLAT") },
		opts:  BitbucketServerOptions{Owner: "Platform", Repository: "fleet", Groups: []string{"ghosts"}},
		err:   `--group "ghosts": no such Bitbucket Server group`, project: "PLAT",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s := bitbucketapi.New(t, testToken, "me")
			if tc.setup != nil {
				tc.setup(s)
			}
			o := tc.opts
			o.Hostname, o.Username = s.URL(), "me"
			if o.Token == "" {
				o.Token = testToken
			}
			bb, err := NewBitbucketServer(o)
			if err != nil {
				t.Fatal(err)
			}
			repo, err := bb.ReconcileRepository(ctx)
			if tc.err != "" {
				checkRefused(t, err, tc.err, s.Writes(), s.Repo(tc.project, o.Repository) != nil)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := s.Repo(tc.project, o.Repository)
			if tc.groups == nil {
				tc.groups = map[string]string{}
			}
			if got == nil || got.Public != tc.public || !maps.Equal(got.Groups, tc.groups) {
				t.Fatalf("repository %+v; want public=%v groups=%v", got, tc.public, tc.groups)
			}
			path := bitbucketapi.GitPath(tc.project, o.Repository)
			checkCloneURLs(t, repo, s.Git.URL(path), s.SSH.URL(path))
			checkWrites(t, s.Writes(), tc.writes)
			checkRerunWritesNothing(t, bb.ReconcileRepository, s.Writes)
		})
	}
}

// TestBootstrapBitbucketServerDeployKey: the access key is added once with
// Flux's name, a rerun writes nothing, a different key or permission
// replaces it.
func TestBootstrapBitbucketServerDeployKey(t *testing.T) {
	s := bitbucketapi.New(t, testToken, "me")
	s.AddProject("Platform", "PLAT")
	mustAddBitbucketRepo(t, s, "PLAT", "fleet", false)
	bb, err := NewBitbucketServer(BitbucketServerOptions{Owner: "Platform", Repository: "fleet", Username: "me", Token: testToken, Hostname: s.URL()})
	if err != nil {
		t.Fatal(err)
	}
	testDeployKeySteps(t, bb.ReconcileDeployKey, func() []deployKeyState {
		var out []deployKeyState
		for _, k := range s.Repo("PLAT", "fleet").Keys {
			out = append(out, deployKeyState{Title: k.Label, Key: k.Text, ReadOnly: k.Permission == "REPO_READ"})
		}
		return out
	}, s.Writes)
}

// TestBootstrapBitbucketServerOptions: the flags the API cannot do without
// are refused before any call.
func TestBootstrapBitbucketServerOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts BitbucketServerOptions
		err  string
	}{
		{name: "no hostname", opts: BitbucketServerOptions{Owner: "me", Repository: "fleet"}, err: "--hostname is required"},
		{name: "no owner", opts: BitbucketServerOptions{Repository: "fleet", Hostname: "bitbucket.example"}, err: "--owner and --repository are required"},
		{name: "groups of a personal repository", opts: BitbucketServerOptions{Owner: "me", Repository: "fleet", Hostname: "h", Personal: true, Groups: []string{"sre"}},
			err: "--group needs a project"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewBitbucketServer(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error = %v; want %q", err, tc.err)
			}
		})
	}
}

func mustAddBitbucketRepo(t *testing.T, s *bitbucketapi.Server, project, slug string, public bool) {
	t.Helper()
	if err := s.AddRepo(project, slug, public); err != nil {
		t.Fatal(err)
	}
}
