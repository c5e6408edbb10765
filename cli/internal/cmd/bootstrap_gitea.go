package cmd

import (
	"github.com/spf13/cobra"

	"gotk.dev/cli/internal/bootstrap"
)

func newBootstrapGiteaCommand(g *Globals) *cobra.Command {
	return newHostedBootstrapCommand(g, hostedCommand{
		use:   "gitea --owner OWNER --repository NAME --hostname HOST --path clusters/NAME",
		short: "Bootstrap from a Gitea repository, creating it and its deploy key through Gitea's API",
		long: `Bootstrap from a Gitea repository: create it (or reconcile it with --reconcile),
give the organization's teams access, register a deploy key, then commit
and apply the components and sync manifests as "bootstrap git" does.

The token comes from $GITEA_TOKEN.`,
		tokenEnv: "GITEA_TOKEN", defaultHost: bootstrap.GiteaHost,
		teamHelp: "Gitea team to be given access to the repository (also accepts comma-separated values)",
		newProvider: func(f *hostedFlags, token, apiURL string, caBundle []byte, g *Globals) (bootstrap.Provider, error) {
			return bootstrap.NewGitea(bootstrap.GiteaOptions{
				Owner: f.owner, Repository: f.repository, Personal: f.personal, Private: f.private, Reconcile: f.reconcile,
				Teams: f.teams, Hostname: f.hostname, APIURL: apiURL, Token: token, CABundle: caBundle, Log: g.Out,
			})
		},
	})
}
