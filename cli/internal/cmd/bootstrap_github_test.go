package cmd

import (
	"testing"

	. "github.com/onsi/gomega"
)

// TestBootstrapGitHubFlags: the command has Flux's flags, and bad flags or
// a missing token stop with a clear message before any API, Git or
// cluster call (the API address points nowhere reachable).
func TestBootstrapGitHubFlags(t *testing.T) {
	root := NewRoot(nil)
	gh, _, err := root.Find([]string{"bootstrap", "github"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"owner", "repository", "team", "personal", "private", "hostname", "read-write-key", "reconcile",
		"token-auth", "path", "branch", "private-key-file", "ca-file", "components", "components-extra", "author-name", "author-email"} {
		if gh.Flags().Lookup(name) == nil {
			t.Errorf("bootstrap github has no --%s", name)
		}
	}
	if f := gh.Flags().Lookup("private"); f == nil || f.DefValue != "true" {
		t.Errorf("--private defaults to true as in Flux")
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GITHUB_TOKEN", tc.token)
			_, err := run(t, tc.args...)
			NewWithT(t).Expect(err).To(MatchError(ContainSubstring(tc.err)))
		})
	}
}
