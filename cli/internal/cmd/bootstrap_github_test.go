package cmd

import (
	"testing"

	. "github.com/onsi/gomega"
)

// TestBootstrapGitHubFlags: the github, gitlab and gitea commands have Flux's
// flags, and bad flags or a missing token stop with a clear message before
// any API, Git or cluster call (the API address points nowhere reachable).
func TestBootstrapGitHubFlags(t *testing.T) {
	root := NewRoot(nil)
	for _, service := range []string{"github", "gitlab", "gitea"} {
		cmd, _, err := root.Find([]string{"bootstrap", service})
		if err != nil || cmd.Name() != service {
			t.Fatalf("no bootstrap %s: %v", service, err)
		}
		for _, name := range []string{"owner", "repository", "team", "personal", "private", "hostname", "read-write-key", "reconcile",
			"token-auth", "interval", "path", "branch", "private-key-file", "ca-file", "components", "components-extra", "author-name", "author-email"} {
			if cmd.Flags().Lookup(name) == nil {
				t.Errorf("bootstrap %s has no --%s", service, name)
			}
		}
		if f := cmd.Flags().Lookup("private"); f == nil || f.DefValue != "true" {
			t.Errorf("bootstrap %s: --private defaults to true as in Flux", service)
		}
	}
	t.Setenv("GITHUB_API_URL", "http://127.0.0.1:1/")
	seed := []string{"bootstrap", "github", "--owner=myorg", "--repository=k8s-manifests", "--branch=main", "--path=clusters/production"}
	for _, tc := range []struct {
		name, token string
		args        []string
		err         string
	}{
		{name: "no token", args: seed, err: "GITHUB_TOKEN is not set"},
		{name: "no owner", token: "t", args: []string{"bootstrap", "github", "--repository=r", "--path=p"}, err: "--owner, --repository and --path are required"},
		{name: "bad team access", token: "t", args: append(seed, "--team=sre:owner"), err: `--team "sre:owner": want SLUG or SLUG:PERMISSION with PERMISSION one of pull, triage, push, maintain, admin`},
		{name: "team on a personal repository", token: "t", args: append(seed, "--personal", "--team=sre"), err: "--team needs an organization"},
		{name: "bad component", token: "t", args: append(seed, "--components-extra=nope"), err: `--components-extra: unknown component "nope"`},
		{name: "missing key file", token: "t", args: append(seed, "--private-key-file=/nonexistent/key"), err: "--private-key-file:"},
		{name: "gitlab without its token", token: "t", args: []string{"bootstrap", "gitlab", "--owner=o", "--repository=r", "--path=p"}, err: "GITLAB_TOKEN is not set"},
		{name: "gitea without its token", token: "t", args: []string{"bootstrap", "gitea", "--owner=o", "--repository=r", "--path=p"}, err: "GITEA_TOKEN is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GITHUB_TOKEN", tc.token)
			_, err := run(t, tc.args...)
			NewWithT(t).Expect(err).To(MatchError(ContainSubstring(tc.err)))
		})
	}
}
