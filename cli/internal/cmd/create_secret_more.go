package cmd

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gotk.dev/cli/internal/bootstrap"
	notificationv1 "gotk.dev/pkg/apis/notification/v1"
	"gotk.dev/pkg/git"
)

// keyOptions choose the SSH key `create secret git` generates (Flux's
// defaults: ECDSA on P-384).
type keyOptions struct {
	algorithm string
	rsaBits   int
	curve     string
}

func (k *keyOptions) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&k.algorithm, "ssh-key-algorithm", "ecdsa", "SSH key algorithm: rsa, ecdsa or ed25519")
	cmd.Flags().IntVar(&k.rsaBits, "ssh-rsa-bits", 2048, "RSA key size")
	cmd.Flags().StringVar(&k.curve, "ssh-ecdsa-curve", "p384", "ECDSA curve: p256, p384 or p521")
}

// generate returns a new private key in OpenSSH PEM form.
func (k keyOptions) generate() ([]byte, error) {
	var priv any
	var err error
	switch k.algorithm {
	case "rsa":
		if k.rsaBits < 2048 || k.rsaBits > 8192 {
			return nil, fmt.Errorf("--ssh-rsa-bits must be between 2048 and 8192, got %d", k.rsaBits)
		}
		priv, err = rsa.GenerateKey(rand.Reader, k.rsaBits)
	case "ecdsa":
		curves := map[string]elliptic.Curve{"p256": elliptic.P256(), "p384": elliptic.P384(), "p521": elliptic.P521()}
		c, ok := curves[k.curve]
		if !ok {
			return nil, fmt.Errorf("--ssh-ecdsa-curve must be p256, p384 or p521, got %q", k.curve)
		}
		priv, err = ecdsa.GenerateKey(c, rand.Reader)
	case "ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("--ssh-key-algorithm must be rsa, ecdsa or ed25519, got %q", k.algorithm)
	}
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(block), nil
}

// sshIdentity fills identity, identity.pub and known_hosts: the key from
// file or a new one, and the host key the server presents.
func sshIdentity(ctx context.Context, data map[string]string, u *git.URL, keyFile, keyPass string, opts keyOptions) error {
	var priv []byte
	var err error
	if keyFile != "" {
		if priv, err = os.ReadFile(keyFile); err != nil {
			return fmt.Errorf("--private-key-file: %w", err)
		}
	} else if priv, err = opts.generate(); err != nil {
		return err
	}
	var signer ssh.Signer
	if keyPass != "" {
		signer, err = ssh.ParsePrivateKeyWithPassphrase(priv, []byte(keyPass))
	} else {
		signer, err = ssh.ParsePrivateKey(priv)
	}
	if err != nil {
		return fmt.Errorf("reading the SSH private key: %w", err)
	}
	hosts, err := bootstrap.ScanKnownHosts(ctx, u)
	if err != nil {
		return err
	}
	data[keyIdentity] = string(priv)
	data[keyIdentityPub] = string(ssh.MarshalAuthorizedKey(signer.PublicKey()))
	data[keyKnownHosts] = strings.TrimSpace(string(hosts))
	if keyPass != "" {
		data[keyPassword] = keyPass
	}
	return nil
}

func newCreateSecretOCI(g *Globals, cf *createFlags) *cobra.Command {
	var server, user, pass string
	cmd := &cobra.Command{
		Use:   "oci NAME --url REGISTRY --username USER --password PASSWORD",
		Short: "Create a docker-registry Secret for an OCIRepository or ImageRepository",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if server == "" || user == "" || pass == "" {
				return errors.New("--url, --username and --password are required")
			}
			auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
			// A struct keeps Flux's field order in the JSON.
			type entry struct {
				Username string `json:"username"`
				Password string `json:"password"`
				Auth     string `json:"auth"`
			}
			cfg, err := json.Marshal(map[string]map[string]entry{"auths": {server: {user, pass, auth}}})
			if err != nil {
				return err
			}
			return finishSecret(cmd.Context(), g, cf, args[0], corev1.SecretTypeDockerConfigJson,
				map[string]string{corev1.DockerConfigJsonKey: string(cfg)}, nil)
		},
	}
	cmd.Flags().StringVar(&server, "url", "", "registry host, e.g. ghcr.io")
	cmd.Flags().StringVarP(&user, "username", "u", "", "registry user name")
	cmd.Flags().StringVarP(&pass, "password", "p", "", "registry password or token")
	return cmd
}

func newCreateSecretGitHubApp(g *Globals, cf *createFlags) *cobra.Command {
	var appID, installID, owner, keyFile, baseURL string
	cmd := &cobra.Command{
		Use:   "githubapp NAME --app-id ID --app-installation-id ID --app-private-key FILE",
		Short: "Create a Secret with GitHub App credentials for a GitRepository (provider github)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case appID == "":
				return errors.New("--app-id is required")
			case installID == "" && owner == "":
				return errors.New("--app-installation-id is required")
			case keyFile == "":
				return errors.New("--app-private-key is required")
			}
			key, err := os.ReadFile(keyFile)
			if err != nil {
				return fmt.Errorf("unable to read private key file: %w", err)
			}
			data := map[string]string{"githubAppID": appID, "githubAppPrivateKey": strings.TrimSpace(string(key))}
			if installID != "" {
				data["githubAppInstallationID"] = installID
			}
			if owner != "" {
				data["githubAppInstallationOwner"] = owner
			}
			if baseURL != "" {
				data["githubAppBaseURL"] = baseURL
			}
			return finishSecret(cmd.Context(), g, cf, args[0], corev1.SecretTypeOpaque, data, nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&appID, "app-id", "", "GitHub App ID")
	f.StringVar(&installID, "app-installation-id", "", "GitHub App installation ID")
	f.StringVar(&owner, "app-installation-owner", "", "GitHub App installation owner (user or organization)")
	f.StringVar(&keyFile, "app-private-key", "", "GitHub App private key file")
	f.StringVar(&baseURL, "app-base-url", "", "GitHub API base URL (GitHub Enterprise)")
	return cmd
}

func newCreateSecretReceiver(g *Globals, cf *createFlags) *cobra.Command {
	var typ, token, hostname, email string
	types := []string{notificationv1.GenericReceiver, notificationv1.GenericHMACReceiver, notificationv1.GitHubReceiver,
		notificationv1.GitLabReceiver, notificationv1.BitbucketReceiver, notificationv1.HarborReceiver,
		notificationv1.DockerHubReceiver, notificationv1.QuayReceiver, notificationv1.GCRReceiver,
		notificationv1.NexusReceiver, notificationv1.ACRReceiver, notificationv1.CDEventsReceiver}
	cmd := &cobra.Command{
		Use:   "receiver NAME --type TYPE --hostname HOST [--token TOKEN]",
		Short: "Create a Secret with a Receiver's token, annotated with its webhook URL",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case typ == "":
				return errors.New("--type is required")
			case !slices.Contains(types, typ):
				return fmt.Errorf("receiver type %q is not supported, must be one of: %s", typ, strings.Join(types, ", "))
			case hostname == "":
				return errors.New("--hostname is required")
			case typ == notificationv1.GCRReceiver && email == "":
				return errors.New("--email-claim is required for gcr receiver type")
			}
			if token == "" {
				b := make([]byte, 32)
				if _, err := rand.Read(b); err != nil {
					return err
				}
				token = hex.EncodeToString(b)
			}
			// The notification-controller serves a Receiver at this path
			// when the Receiver has the Secret's name.
			rcv := &notificationv1.Receiver{ObjectMeta: metav1.ObjectMeta{Name: args[0], Namespace: g.Namespace}}
			url := "https://" + hostname + rcv.GetWebhookPath(token)
			data := map[string]string{keyToken: token}
			if typ == notificationv1.GCRReceiver {
				data["email"], data["audience"] = email, url
			}
			return finishSecret(cmd.Context(), g, cf, args[0], "", data,
				map[string]string{"notification.toolkit.fluxcd.io/webhook": url})
		},
	}
	f := cmd.Flags()
	f.StringVar(&typ, "type", "", "receiver type: "+strings.Join(types, ", "))
	f.StringVar(&token, "token", "", "webhook token (generated when empty)")
	f.StringVar(&hostname, "hostname", "", "host the webhook URL is served on, e.g. flux.example.com")
	f.StringVar(&email, "email-claim", "", "IAM service account email (gcr)")
	return cmd
}

func newCreateSecretNotation(g *Globals, cf *createFlags) *cobra.Command {
	var policyFile string
	var caFiles []string
	cmd := &cobra.Command{
		Use:   "notation NAME --trust-policy-file FILE --ca-cert-file FILE...",
		Short: "Create a Secret with a Notation trust policy and certificates for OCI verification",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if policyFile == "" {
				return errors.New("--trust-policy-file is required")
			}
			if len(caFiles) == 0 {
				return errors.New("--ca-cert-file is required")
			}
			policy, err := os.ReadFile(policyFile)
			if err != nil {
				return fmt.Errorf("--trust-policy-file: %w", err)
			}
			var doc map[string]any
			if err := json.Unmarshal(policy, &doc); err != nil {
				return fmt.Errorf("%s is not a JSON trust policy: %w", policyFile, err)
			}
			data := map[string]string{keyTrustPolicy: string(policy)}
			for _, f := range caFiles {
				crt, err := os.ReadFile(f)
				if err != nil {
					return fmt.Errorf("--ca-cert-file: %w", err)
				}
				name := filepath.Base(f)
				if !strings.HasSuffix(name, ".crt") && !strings.HasSuffix(name, ".pem") {
					return fmt.Errorf("--ca-cert-file %s: the file must end in .crt or .pem", f)
				}
				data[name] = string(crt)
			}
			return finishSecret(cmd.Context(), g, cf, args[0], "", data, nil)
		},
	}
	cmd.Flags().StringVar(&policyFile, "trust-policy-file", "", "Notation trust policy (JSON)")
	cmd.Flags().StringSliceVar(&caFiles, "ca-cert-file", nil, "root CA certificate(s) the signatures chain to")
	return cmd
}
