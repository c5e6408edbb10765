package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"gotk.dev/cli/internal/bootstrap"
	"gotk.dev/cli/internal/takeover"
	"gotk.dev/pkg/git"
)

type bootstrapFlags struct {
	install        installFlags
	url, branch    string
	path           string
	username       string
	password       string
	caFile         string
	privateKeyFile string
	authorName     string
	authorEmail    string
	silent         bool
	interval       time.Duration
}

func newBootstrapCommand(g *Globals) *cobra.Command {
	f := &bootstrapFlags{}
	root := &cobra.Command{Use: "bootstrap", Short: "Install gotk and make the cluster sync itself from a Git repository"}
	cmd := &cobra.Command{
		Use:   "git --url URL --branch BRANCH --path clusters/NAME",
		Short: "Bootstrap from any Git server over HTTPS (user/token) or SSH (deploy key)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := f.options(g)
			if err != nil {
				return err
			}
			c, err := g.Client()
			if err != nil {
				return err
			}
			// Refused before anything is pushed; the takeover itself runs
			// just before the components are applied.
			if _, err := takeover.Check(cmd.Context(), c, g.Namespace, o.Install.Takeover); err != nil {
				return err
			}
			o.BeforeInstall = g.beforeInstall(o.Install)
			_, err = bootstrap.Run(cmd.Context(), c, o)
			return err
		},
	}
	f.bindShared(cmd)
	fs := cmd.Flags()
	fs.StringVar(&f.url, "url", "", "repository URL (https://, http:// or ssh://)")
	fs.StringVarP(&f.username, "username", "u", "git", "HTTPS user name")
	fs.StringVarP(&f.password, "password", "p", "", "HTTPS password or token (default $GIT_PASSWORD)")
	fs.StringVar(&f.privateKeyFile, "private-key-file", "", "SSH deploy key (default: generate one and print it)")
	fs.BoolVarP(&f.silent, "silent", "s", false, "do not wait for confirmation after printing a generated deploy key")
	root.AddCommand(cmd, newBootstrapGitHubCommand(g), newBootstrapGitLabCommand(g), newBootstrapGiteaCommand(g), newBootstrapBitbucketServerCommand(g))
	return root
}

// bindShared binds the flags every bootstrap command has: the install's,
// branch, path, CA bundle and commit author.
func (f *bootstrapFlags) bindShared(cmd *cobra.Command) {
	f.install.bind(cmd)
	fs := cmd.Flags()
	fs.StringVar(&f.branch, "branch", "main", "branch to commit to and sync from")
	fs.StringVar(&f.path, "path", "", "path of the cluster's folder in the repository, e.g. clusters/dev")
	fs.StringVar(&f.caFile, "ca-file", "", "CA bundle of the Git server")
	fs.StringVar(&f.authorName, "author-name", "gotk", "commit author name")
	fs.StringVar(&f.authorEmail, "author-email", "gotk@localhost", "commit author email")
	fs.DurationVar(&f.interval, "interval", bootstrap.DefaultInterval, "sync interval")
}

// options turns the flags into credentials for the push and for the
// in-cluster Secret (which is applied, never committed).
func (f *bootstrapFlags) options(g *Globals) (bootstrap.Options, error) {
	if f.url == "" || f.path == "" {
		return bootstrap.Options{}, errors.New("--url and --path are required")
	}
	u, err := git.ParseURL(f.url)
	if err != nil {
		return bootstrap.Options{}, fmt.Errorf("--url: %w", err)
	}
	installOpts, err := f.install.options()
	if err != nil {
		return bootstrap.Options{}, err
	}
	o := bootstrap.Options{URL: f.url, Branch: f.branch, Path: f.path, Namespace: g.Namespace, Interval: f.interval, Timeout: g.Timeout, Log: g.Out,
		Author: git.Signature{Name: f.authorName, Email: f.authorEmail}, Install: installOpts, SecretData: map[string][]byte{}}
	auth := &git.Auth{}
	if f.caFile != "" {
		if auth.CABundle, err = os.ReadFile(f.caFile); err != nil {
			return o, fmt.Errorf("--ca-file: %w", err)
		}
		o.SecretData["ca.crt"] = auth.CABundle
	}
	if u.Transport == git.SSH {
		if err := f.sshCredentials(g, u, auth, o.SecretData); err != nil {
			return o, err
		}
	} else {
		password := f.password
		if password == "" {
			password = os.Getenv("GIT_PASSWORD")
		}
		if password != "" {
			auth.Username, auth.Password = f.username, password
			o.SecretData["username"], o.SecretData["password"] = []byte(f.username), []byte(password)
		}
	}
	o.Auth = auth
	return o, nil
}

func (f *bootstrapFlags) sshCredentials(g *Globals, u *git.URL, auth *git.Auth, data map[string][]byte) error {
	var private, public []byte
	var err error
	if f.privateKeyFile != "" {
		if private, err = os.ReadFile(f.privateKeyFile); err != nil {
			return fmt.Errorf("--private-key-file: %w", err)
		}
	} else {
		if private, public, err = bootstrap.GenerateKey(); err != nil {
			return err
		}
		fmt.Fprintf(g.Out, "► add this deploy key (with write access) to the repository:\n%s", public)
		if !f.silent {
			fmt.Fprint(g.Out, "◎ press Enter when done ")
			if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
				return errors.New("no confirmation on standard input: add the key, then rerun with --private-key-file or --silent")
			}
		}
		data["identity.pub"] = public
	}
	knownHosts, err := bootstrap.ScanKnownHosts(context.Background(), u)
	if err != nil {
		return err
	}
	auth.Identity, auth.KnownHosts = private, knownHosts
	data["identity"], data["known_hosts"] = private, knownHosts
	return nil
}
