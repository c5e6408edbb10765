package cmd

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"gotk.dev/cli/internal/bootstrap"
	"gotk.dev/pkg/git"
)

type gitHubFlags struct {
	bootstrapFlags
	owner, repository string
	teams             []string
	personal, private bool
	hostname          string
	readWriteKey      bool
	reconcile         bool
	tokenAuth         bool
	hostnameSet       bool
}

func newBootstrapGitHubCommand(g *Globals) *cobra.Command {
	f := &gitHubFlags{}
	cmd := &cobra.Command{
		Use:   "github --owner OWNER --repository NAME --path clusters/NAME",
		Short: "Bootstrap from a GitHub repository, creating it and its deploy key through GitHub's API",
		Long: `Bootstrap from a GitHub repository: create it (or reconcile it with --reconcile),
give the teams access, register a deploy key, then commit and apply the
components and sync manifests as "bootstrap git" does.

The token comes from $GITHUB_TOKEN. The API is the one of --hostname, or
$GITHUB_API_URL (as GitHub Actions sets it) when --hostname is not given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.hostnameSet = cmd.Flags().Changed("hostname")
			o, p, err := f.options(g)
			if err != nil {
				return err
			}
			c, err := g.Client()
			if err != nil {
				return err
			}
			_, err = bootstrap.RunHosted(cmd.Context(), c, p, o)
			return err
		},
	}
	f.bindShared(cmd)
	fs := cmd.Flags()
	fs.StringVar(&f.owner, "owner", "", "GitHub user or organization name")
	fs.StringVar(&f.repository, "repository", "", "GitHub repository name")
	fs.StringSliceVar(&f.teams, "team", nil, "GitHub team and the access to be given to it (team:maintain); maintain when no access is given (also accepts comma-separated values)")
	fs.BoolVar(&f.personal, "personal", false, "if true, the owner is assumed to be a GitHub user; otherwise an org")
	fs.BoolVar(&f.private, "private", true, "if true, the repository is setup or configured as private")
	fs.StringVar(&f.hostname, "hostname", bootstrap.GitHubHost, "GitHub hostname")
	fs.BoolVar(&f.readWriteKey, "read-write-key", false, "if true, the deploy key is configured with read/write permissions")
	fs.BoolVar(&f.reconcile, "reconcile", false, "if true, the configured options are also reconciled if the repository already exists")
	fs.BoolVar(&f.tokenAuth, "token-auth", false, "when enabled, the personal access token will be used instead of the SSH deploy key")
	fs.StringVar(&f.privateKeyFile, "private-key-file", "", "SSH deploy key (default: the one in the cluster's flux-system Secret, or a generated one)")
	return cmd
}

// options checks the flags and the token before any call, and returns the
// bootstrap options and the GitHub client.
func (f *gitHubFlags) options(g *Globals) (bootstrap.HostedOptions, bootstrap.Provider, error) {
	if f.owner == "" || f.repository == "" || f.path == "" {
		return bootstrap.HostedOptions{}, nil, errors.New("--owner, --repository and --path are required")
	}
	token := os.Getenv("GITHUB_TOKEN")
	if token == "" {
		return bootstrap.HostedOptions{}, nil, errors.New("GITHUB_TOKEN is not set: export a GitHub personal access token with the repo scope")
	}
	installOpts, err := f.install.options()
	if err != nil {
		return bootstrap.HostedOptions{}, nil, err
	}
	o := bootstrap.HostedOptions{
		Options: bootstrap.Options{Branch: f.branch, Path: f.path, Namespace: g.Namespace, Timeout: g.Timeout, Log: g.Out,
			Author: git.Signature{Name: f.authorName, Email: f.authorEmail}, Install: installOpts},
		Token: token, TokenUser: "git", TokenAuth: f.tokenAuth, ReadWriteKey: f.readWriteKey,
	}
	if f.caFile != "" {
		if o.CABundle, err = os.ReadFile(f.caFile); err != nil {
			return o, nil, fmt.Errorf("--ca-file: %w", err)
		}
	}
	if f.privateKeyFile != "" {
		if o.PrivateKey, err = os.ReadFile(f.privateKeyFile); err != nil {
			return o, nil, fmt.Errorf("--private-key-file: %w", err)
		}
	}
	// GitHub Actions says where the API of its instance is; an explicit
	// --hostname wins over it.
	apiURL := os.Getenv("GITHUB_API_URL")
	if f.hostnameSet {
		apiURL = ""
	}
	p, err := bootstrap.NewGitHub(bootstrap.GitHubOptions{
		Owner: f.owner, Repository: f.repository, Personal: f.personal, Private: f.private, Reconcile: f.reconcile,
		Teams: f.teams, Hostname: f.hostname, APIURL: apiURL, Token: token, CABundle: o.CABundle, Log: g.Out,
	})
	if err != nil {
		return o, nil, err
	}
	return o, p, nil
}
