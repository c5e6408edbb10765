package cmd

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"gotk.dev/cli/internal/bootstrap"
	"gotk.dev/cli/internal/takeover"
	"gotk.dev/pkg/git"
)

// hostedFlags are the flags, named as Flux names them, of the bootstrap
// commands that go through a hosting service's API.
type hostedFlags struct {
	bootstrapFlags
	owner, repository string
	teams             []string
	personal, private bool
	hostname          string
	readWriteKey      bool
	reconcile         bool
	tokenAuth         bool
}

// hostedCommand is `gotk bootstrap <service>`: newProvider turns the
// parsed flags and token into the service's client.
type hostedCommand struct {
	use, short, long string
	// tokenEnv holds the token; apiEnv, when set and --hostname is not
	// given, is the API's address (as the service's CI sets it).
	tokenEnv, apiEnv string
	defaultHost      string
	teamHelp         string
	// teamFlag names the flag of the groups given access: "team" unless
	// set (Bitbucket Server's is "group").
	teamFlag string
	// usernameFlag, when set, adds Flux's --username with this default.
	usernameFlag string
	newProvider  func(f *hostedFlags, token, apiURL string, caBundle []byte, g *Globals) (bootstrap.Provider, error)
}

func newHostedBootstrapCommand(g *Globals, h hostedCommand) *cobra.Command {
	f := &hostedFlags{}
	cmd := &cobra.Command{
		Use: h.use, Short: h.short, Long: h.long, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			apiURL := os.Getenv(h.apiEnv)
			if h.apiEnv == "" || cmd.Flags().Changed("hostname") {
				apiURL = ""
			}
			o, err := f.options(g, h.tokenEnv)
			if err != nil {
				return err
			}
			p, err := h.newProvider(f, o.Token, apiURL, o.CABundle, g)
			if err != nil {
				return err
			}
			c, err := g.Client()
			if err != nil {
				return err
			}
			if _, err := takeover.Check(cmd.Context(), c, g.Namespace, o.Install.Takeover); err != nil {
				return err
			}
			o.BeforeInstall = g.beforeInstall(o.Install)
			_, err = bootstrap.RunHosted(cmd.Context(), c, p, o)
			return err
		},
	}
	f.bindShared(cmd)
	fs := cmd.Flags()
	fs.StringVar(&f.owner, "owner", "", "user or organization name")
	fs.StringVar(&f.repository, "repository", "", "repository name")
	teamFlag := h.teamFlag
	if teamFlag == "" {
		teamFlag = "team"
	}
	fs.StringSliceVar(&f.teams, teamFlag, nil, h.teamHelp)
	// The push and --token-auth authenticate as username with the token.
	f.username = "git"
	if h.usernameFlag != "" {
		fs.StringVarP(&f.username, "username", "u", h.usernameFlag, "authentication username")
	}
	fs.BoolVar(&f.personal, "personal", false, "if true, the owner is assumed to be a user; otherwise an org")
	fs.BoolVar(&f.private, "private", true, "if true, the repository is setup or configured as private")
	fs.StringVar(&f.hostname, "hostname", h.defaultHost, "hostname of the service")
	fs.BoolVar(&f.readWriteKey, "read-write-key", false, "if true, the deploy key is configured with read/write permissions")
	fs.BoolVar(&f.reconcile, "reconcile", false, "if true, the configured options are also reconciled if the repository already exists")
	fs.BoolVar(&f.tokenAuth, "token-auth", false, "when enabled, the personal access token will be used instead of the SSH deploy key")
	fs.StringVar(&f.privateKeyFile, "private-key-file", "", "SSH deploy key (default: the one in the cluster's flux-system Secret, or a generated one)")
	return cmd
}

// options checks the flags and the token before any call.
func (f *hostedFlags) options(g *Globals, tokenEnv string) (bootstrap.HostedOptions, error) {
	if f.owner == "" || f.repository == "" || f.path == "" {
		return bootstrap.HostedOptions{}, errors.New("--owner, --repository and --path are required")
	}
	token := os.Getenv(tokenEnv)
	if token == "" {
		return bootstrap.HostedOptions{}, fmt.Errorf("%s is not set: export a personal access token that may create repositories and deploy keys", tokenEnv)
	}
	installOpts, err := f.install.options()
	if err != nil {
		return bootstrap.HostedOptions{}, err
	}
	o := bootstrap.HostedOptions{
		Options: bootstrap.Options{Branch: f.branch, Path: f.path, Namespace: g.Namespace, Interval: f.interval, Timeout: g.Timeout, Log: g.Out,
			Author: git.Signature{Name: f.authorName, Email: f.authorEmail}, Install: installOpts},
		Token: token, TokenUser: f.username, TokenAuth: f.tokenAuth, ReadWriteKey: f.readWriteKey,
	}
	if f.caFile != "" {
		if o.CABundle, err = os.ReadFile(f.caFile); err != nil {
			return o, fmt.Errorf("--ca-file: %w", err)
		}
	}
	if f.privateKeyFile != "" {
		if o.PrivateKey, err = os.ReadFile(f.privateKeyFile); err != nil {
			return o, fmt.Errorf("--private-key-file: %w", err)
		}
	}
	return o, nil
}
