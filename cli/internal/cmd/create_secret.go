package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/catalog"
	"gotk.dev/pkg/git"
)

// The data keys of the Secrets `create secret` writes: Flux's names, so a
// Secret made by either CLI works with either toolkit.
const (
	keyUsername    = "username"
	keyPassword    = "password"
	keyBearerToken = "bearerToken"
	keyCACrt       = "ca.crt"
	keyTLSCrt      = "tls.crt"
	keyTLSKey      = "tls.key"
	keyIdentity    = "identity"
	keyIdentityPub = "identity.pub"
	keyKnownHosts  = "known_hosts"
	keyAddress     = "address"
	keyToken       = "token"
	keyTrustPolicy = "trustpolicy.json"
)

func newCreateSecretCommand(g *Globals, cf *createFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "secret", Short: "Create a Secret a source, provider or receiver refers to"}
	cmd.AddCommand(newCreateSecretGit(g, cf), newCreateSecretHelm(g, cf), newCreateSecretOCI(g, cf),
		newCreateSecretTLS(g, cf), newCreateSecretProxy(g, cf), newCreateSecretReceiver(g, cf),
		newCreateSecretGitHubApp(g, cf), newCreateSecretNotation(g, cf))
	return cmd
}

// tlsFiles are the client-certificate and CA flags several secrets share.
type tlsFiles struct{ crt, key, ca string }

func (t *tlsFiles) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.crt, "tls-crt-file", "", "TLS client certificate file (PEM)")
	cmd.Flags().StringVar(&t.key, "tls-key-file", "", "TLS client key file (PEM)")
	cmd.Flags().StringVar(&t.ca, "ca-crt-file", "", "CA certificate file (PEM) to verify the server with")
}

// add reads the files into data; a certificate needs its key.
func (t *tlsFiles) add(data map[string]string) error {
	if (t.crt == "") != (t.key == "") {
		return errors.New("--tls-crt-file and --tls-key-file go together")
	}
	for flag, f := range map[string]struct{ path, key string }{
		"--tls-crt-file": {t.crt, keyTLSCrt}, "--tls-key-file": {t.key, keyTLSKey}, "--ca-crt-file": {t.ca, keyCACrt},
	} {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			return fmt.Errorf("%s: %w", flag, err)
		}
		data[f.key] = string(b)
	}
	return nil
}

// basicAuth adds username and password when both are given.
func basicAuth(data map[string]string, user, pass string) error {
	if (user == "") != (pass == "") {
		return errors.New("--username and --password go together")
	}
	if user != "" {
		data[keyUsername], data[keyPassword] = user, pass
	}
	return nil
}

func newCreateSecretGit(g *Globals, cf *createFlags) *cobra.Command {
	var rawURL, user, pass, bearer, keyFile, keyPass string
	var keyOpts keyOptions
	var tls tlsFiles
	cmd := &cobra.Command{
		Use:   "git NAME --url URL",
		Short: "Create a Secret for a GitRepository: SSH key and known_hosts, basic auth or a bearer token",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if rawURL == "" {
				return errors.New("--url is required")
			}
			u, err := git.ParseURL(rawURL)
			if err != nil {
				return fmt.Errorf("--url: %w", err)
			}
			data := map[string]string{}
			if u.Transport == git.SSH {
				if err := sshIdentity(cmd.Context(), data, u, keyFile, keyPass, keyOpts); err != nil {
					return err
				}
				if pass != "" {
					data[keyPassword] = pass
				}
			} else {
				if err := basicAuth(data, user, pass); err != nil {
					return err
				}
				if bearer != "" {
					if user != "" {
						return errors.New("give --bearer-token or --username/--password, not both")
					}
					data[keyBearerToken] = bearer
				}
				if err := tls.add(data); err != nil {
					return err
				}
			}
			return finishSecret(cmd.Context(), g, cf, args[0], "", data, nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&rawURL, "url", "", "Git repository address, e.g. ssh://git@host/org/repo or https://host/org/repo")
	f.StringVarP(&user, "username", "u", "", "basic authentication user name")
	f.StringVarP(&pass, "password", "p", "", "basic authentication password (or the SSH key's passphrase)")
	f.StringVar(&bearer, "bearer-token", "", "bearer token for HTTPS")
	f.StringVar(&keyFile, "private-key-file", "", "SSH private key to use instead of generating one")
	f.StringVar(&keyPass, "private-key-password", "", "passphrase of --private-key-file")
	keyOpts.bind(cmd)
	f.StringVar(&tls.ca, "ca-crt-file", "", "CA certificate file (PEM) to verify the HTTPS server with")
	return cmd
}

func newCreateSecretHelm(g *Globals, cf *createFlags) *cobra.Command {
	var user, pass string
	var tls tlsFiles
	cmd := &cobra.Command{
		Use:   "helm NAME",
		Short: "Create a Secret for a HelmRepository: basic auth and TLS",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data := map[string]string{}
			if err := basicAuth(data, user, pass); err != nil {
				return err
			}
			if err := tls.add(data); err != nil {
				return err
			}
			return finishSecret(cmd.Context(), g, cf, args[0], "", data, nil)
		},
	}
	cmd.Flags().StringVarP(&user, "username", "u", "", "basic authentication user name")
	cmd.Flags().StringVarP(&pass, "password", "p", "", "basic authentication password")
	tls.bind(cmd)
	return cmd
}

func newCreateSecretTLS(g *Globals, cf *createFlags) *cobra.Command {
	var tls tlsFiles
	cmd := &cobra.Command{
		Use:   "tls NAME",
		Short: "Create a Secret with a TLS client certificate and/or CA",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data := map[string]string{}
			if err := tls.add(data); err != nil {
				return err
			}
			if len(data) == 0 {
				return errors.New("give --tls-crt-file and --tls-key-file, or --ca-crt-file")
			}
			return finishSecret(cmd.Context(), g, cf, args[0], "", data, nil)
		},
	}
	tls.bind(cmd)
	return cmd
}

func newCreateSecretProxy(g *Globals, cf *createFlags) *cobra.Command {
	var address, user, pass string
	cmd := &cobra.Command{
		Use:   "proxy NAME --address URL",
		Short: "Create a Secret with a proxy address and its credentials",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if address == "" {
				return errors.New("--address is required")
			}
			data := map[string]string{keyAddress: address}
			if err := basicAuth(data, user, pass); err != nil {
				return err
			}
			return finishSecret(cmd.Context(), g, cf, args[0], corev1.SecretTypeOpaque, data, nil)
		},
	}
	cmd.Flags().StringVar(&address, "address", "", "proxy address, e.g. http://proxy.example.com:8080")
	cmd.Flags().StringVarP(&user, "username", "u", "", "proxy user name")
	cmd.Flags().StringVarP(&pass, "password", "p", "", "proxy password")
	return cmd
}

// finishSecret prints the Secret (as Flux does: stringData, so a user can
// read and edit it) or applies it.
func finishSecret(ctx context.Context, g *Globals, cf *createFlags, name string, typ corev1.SecretType, data, annotations map[string]string) error {
	om, err := cf.objectMeta(g, name)
	if err != nil {
		return err
	}
	om.Annotations = annotations
	s := &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: om, Type: typ, StringData: data}
	if cf.export {
		out, err := catalog.CleanYAML(s)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(g.Out, "---\n%s", out)
		return err
	}
	// The API server folds stringData into data; applying data directly
	// keeps the apply idempotent.
	s.Data = map[string][]byte{}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
	if s.Type == "" {
		s.Type = corev1.SecretTypeOpaque
	}
	c, err := g.Client()
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Out, "► applying secret %s/%s\n", s.Namespace, s.Name)
	if err := c.Patch(ctx, s, client.Apply, client.FieldOwner("gotk"), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying secret %s: %w", s.Name, err)
	}
	if pub, ok := data[keyIdentityPub]; ok {
		fmt.Fprintf(g.Out, "✔ deploy key: %s", pub)
	}
	fmt.Fprintf(g.Out, "✔ secret %s created\n", s.Name)
	return nil
}
