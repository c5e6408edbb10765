package cmd

import (
	"github.com/spf13/cobra"

	"gotk.dev/cli/internal/bootstrap"
)

func newBootstrapBitbucketServerCommand(g *Globals) *cobra.Command {
	return newHostedBootstrapCommand(g, hostedCommand{
		use:   "bitbucket-server --owner PROJECT --username USER --repository NAME --hostname HOST --path clusters/NAME",
		short: "Bootstrap from a Bitbucket Server repository, creating it and its access key through Bitbucket's API",
		long: `Bootstrap from a Bitbucket Server repository: create it in a project (or, with
--personal, in the --username's account), reconcile it with --reconcile,
give the groups write access, register a repository access key, then
commit and apply the components and sync manifests as "bootstrap git" does.

The token comes from $BITBUCKET_TOKEN; it belongs to --username.`,
		tokenEnv: "BITBUCKET_TOKEN",
		teamFlag: "group", usernameFlag: bootstrap.BitbucketServerUser,
		teamHelp: "Bitbucket Server groups to be given write access (also accepts comma-separated values)",
		newProvider: func(f *hostedFlags, token, _ string, caBundle []byte, g *Globals) (bootstrap.Provider, error) {
			return bootstrap.NewBitbucketServer(bootstrap.BitbucketServerOptions{
				Owner: f.owner, Repository: f.repository, Personal: f.personal, Private: f.private, Reconcile: f.reconcile,
				Groups: f.teams, Hostname: f.hostname, Username: f.username, Token: token, CABundle: caBundle, Log: g.Out,
			})
		},
	})
}
