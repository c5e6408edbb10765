package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/spf13/cobra"

	"gotk.dev/pkg/git"
)

// sourceCredentials are Flux's credential flags of `create source git|helm`:
// given, they make a Secret named as the source and point secretRef at it.
type sourceCredentials struct {
	username, password, privateKeyFile string
}

func (c *sourceCredentials) bind(cmd *cobra.Command, ssh bool) {
	f := cmd.Flags()
	f.StringVarP(&c.username, "username", "u", "", "basic authentication user name (stored in a Secret named as the source)")
	f.StringVarP(&c.password, "password", "p", "", "basic authentication password (stored in a Secret named as the source)")
	if ssh {
		f.StringVar(&c.privateKeyFile, "private-key-file", "", "SSH private key for an ssh:// URL (stored with the scanned known_hosts in a Secret named as the source)")
	}
}

// secret writes (or, with --export, prints) the credentials Secret and sets
// ref to it; without credentials it does nothing.
func (c *sourceCredentials) secret(ctx context.Context, g *Globals, cf *createFlags, name, rawURL string, ref **meta.LocalObjectReference) error {
	if c.username == "" && c.password == "" && c.privateKeyFile == "" {
		return nil
	}
	if *ref != nil {
		return errors.New("give --secret-ref or credentials (--username/--password/--private-key-file), not both")
	}
	data := map[string]string{}
	if c.privateKeyFile != "" {
		u, err := git.ParseURL(rawURL)
		if err != nil {
			return fmt.Errorf("--url: %w", err)
		}
		if u.Transport != git.SSH {
			return errors.New("--private-key-file needs an ssh:// --url")
		}
		if err := sshIdentity(ctx, data, u, c.privateKeyFile, c.password, keyOptions{}); err != nil {
			return err
		}
	} else if err := basicAuth(data, c.username, c.password); err != nil {
		return err
	}
	if err := finishSecret(ctx, g, cf, name, "", data, nil); err != nil {
		return err
	}
	*ref = &meta.LocalObjectReference{Name: name}
	return nil
}
