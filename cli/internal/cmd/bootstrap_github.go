package cmd

import (
	"github.com/spf13/cobra"

	"gotk.dev/cli/internal/bootstrap"
)

func newBootstrapGitHubCommand(g *Globals) *cobra.Command {
	return newHostedBootstrapCommand(g, hostedCommand{
		use:   "github --owner OWNER --repository NAME --path clusters/NAME",
		short: "Bootstrap from a GitHub repository, creating it and its deploy key through GitHub's API",
		long: `Bootstrap from a GitHub repository: create it (or reconcile it with --reconcile),
give the teams access, register a deploy key, then commit and apply the
components and sync manifests as "bootstrap git" does.

The token comes from $GITHUB_TOKEN. The API is the one of --hostname, or
$GITHUB_API_URL (as GitHub Actions sets it) when --hostname is not given.`,
		tokenEnv: "GITHUB_TOKEN", apiEnv: "GITHUB_API_URL", defaultHost: bootstrap.GitHubHost,
		teamHelp: "GitHub team and the access to be given to it (team:maintain); maintain when no access is given (also accepts comma-separated values)",
		newProvider: func(f *hostedFlags, token, apiURL string, caBundle []byte, g *Globals) (bootstrap.Provider, error) {
			return bootstrap.NewGitHub(bootstrap.GitHubOptions{
				Owner: f.owner, Repository: f.repository, Personal: f.personal, Private: f.private, Reconcile: f.reconcile,
				Teams: f.teams, Hostname: f.hostname, APIURL: apiURL, Token: token, CABundle: caBundle, Log: g.Out,
			})
		},
	})
}
