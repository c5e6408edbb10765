package cmd

import (
	"github.com/spf13/cobra"

	"gotk.dev/cli/internal/bootstrap"
)

func newBootstrapGitLabCommand(g *Globals) *cobra.Command {
	return newHostedBootstrapCommand(g, hostedCommand{
		use:   "gitlab --owner OWNER --repository NAME --path clusters/NAME",
		short: "Bootstrap from a GitLab project, creating it and its deploy key through GitLab's API",
		long: `Bootstrap from a GitLab project: create it (or reconcile it with --reconcile),
share it with the groups given by --team, register a deploy key, then commit
and apply the components and sync manifests as "bootstrap git" does.

The token comes from $GITLAB_TOKEN. The API is the one of --hostname, or
$CI_API_V4_URL (as GitLab CI sets it) when --hostname is not given.`,
		tokenEnv: "GITLAB_TOKEN", apiEnv: "CI_API_V4_URL", defaultHost: bootstrap.GitLabHost,
		teamHelp: "GitLab teams to be given maintainer access (also accepts comma-separated values)",
		newProvider: func(f *hostedFlags, token, apiURL string, caBundle []byte, g *Globals) (bootstrap.Provider, error) {
			return bootstrap.NewGitLab(bootstrap.GitLabOptions{
				Owner: f.owner, Repository: f.repository, Personal: f.personal, Private: f.private, Reconcile: f.reconcile,
				Teams: f.teams, Hostname: f.hostname, APIURL: apiURL, Token: token, CABundle: caBundle, Log: g.Out,
			})
		},
	})
}
