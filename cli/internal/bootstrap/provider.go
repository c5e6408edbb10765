package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/pkg/git"
)

// Provider is a Git hosting service's API as bootstrap uses it.
type Provider interface {
	// ReconcileRepository checks the token and the owner, creates the
	// repository when it is missing (or reconciles its settings when
	// asked), gives the teams access, and returns its clone URLs. It
	// changes nothing when it returns an error about the token or owner.
	ReconcileRepository(ctx context.Context) (Repository, error)
	// ReconcileDeployKey makes publicKey the repository's deploy key
	// called name, replacing a different key of that name.
	ReconcileDeployKey(ctx context.Context, name string, publicKey []byte, readOnly bool) (changed bool, err error)
}

// Repository is what a Provider reports about the repository.
type Repository struct {
	// HTTPURL and SSHURL clone the repository (SSHURL may be scp-like).
	HTTPURL, SSHURL string
}

// HostedOptions are a bootstrap through a hosting service's API.
type HostedOptions struct {
	// Options carry branch, path, namespace, components, author, timeout
	// and log; URL, Auth and SecretData are set from the repository.
	Options
	// Token authenticates the API calls and the push over HTTPS, as user
	// TokenUser.
	Token, TokenUser string
	// TokenAuth makes the cluster sync over HTTPS with the token instead
	// of over SSH with a deploy key.
	TokenAuth bool
	// ReadWriteKey registers the deploy key with write access.
	ReadWriteKey bool
	// PrivateKey is the deploy key to use; empty reuses the one in the
	// cluster's flux-system Secret, or generates one.
	PrivateKey []byte
	// CABundle verifies the Git server's HTTPS certificate.
	CABundle []byte
}

// DeployKeyName names the deploy key as Flux does:
// <namespace>-<branch>-<secret>-./<path>.
func DeployKeyName(namespace, branch, clusterPath string) string {
	return fmt.Sprintf("%s-%s-%s-./%s", namespace, branch, Name, strings.TrimPrefix(path.Clean(clusterPath), "./"))
}

// RunHosted reconciles the repository through p, then bootstraps as Run
// does: the push goes over HTTPS with the token, the cluster syncs over
// SSH with a deploy key (registered only once the repository's content is
// known to be bootstrap's) or, with TokenAuth, over HTTPS with the token.
func RunHosted(ctx context.Context, c client.Client, p Provider, o HostedOptions) (string, error) {
	if o.Token == "" {
		return "", errors.New("no API token: set it in the environment")
	}
	repo, err := p.ReconcileRepository(ctx)
	if err != nil {
		return "", err
	}
	run := o.Options
	run.PushURL = repo.HTTPURL
	run.PushAuth = &git.Auth{Username: o.TokenUser, Password: o.Token, CABundle: o.CABundle}
	run.SecretData = map[string][]byte{}
	if len(o.CABundle) > 0 {
		run.SecretData["ca.crt"] = o.CABundle
	}
	if o.TokenAuth {
		run.URL = repo.HTTPURL
		run.SecretData["username"], run.SecretData["password"] = []byte(o.TokenUser), []byte(o.Token)
		return Run(ctx, c, run)
	}
	u, err := git.ParseURL(repo.SSHURL)
	if err != nil {
		return "", fmt.Errorf("the repository's SSH URL %q: %w", repo.SSHURL, err)
	}
	run.URL = u.String()
	private, public, err := deployKey(ctx, c, o)
	if err != nil {
		return "", err
	}
	knownHosts, err := ScanKnownHosts(ctx, u)
	if err != nil {
		return "", err
	}
	run.SecretData["identity"], run.SecretData["identity.pub"], run.SecretData["known_hosts"] = private, public, knownHosts
	name := DeployKeyName(o.Namespace, o.Branch, o.Path)
	run.Prepare = func(ctx context.Context) error {
		changed, err := p.ReconcileDeployKey(ctx, name, public, !o.ReadWriteKey)
		if err != nil {
			return fmt.Errorf("deploy key %q: %w", name, err)
		}
		if changed {
			logf(o.Options, "✔ deploy key %q registered", name)
		} else {
			logf(o.Options, "✔ deploy key %q is up to date", name)
		}
		return nil
	}
	return Run(ctx, c, run)
}

// deployKey returns the key pair the cluster syncs with: the given one,
// the one already in the cluster's Secret (so a rerun changes nothing), or
// a new one.
func deployKey(ctx context.Context, c client.Client, o HostedOptions) (private, public []byte, err error) {
	if len(o.PrivateKey) > 0 {
		return keyPair(o.PrivateKey)
	}
	secret := &corev1.Secret{}
	err = c.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: Name}, secret)
	switch {
	case err == nil && len(secret.Data["identity"]) > 0:
		logf(o.Options, "✔ reusing the deploy key in Secret %s/%s", o.Namespace, Name)
		return keyPair(secret.Data["identity"])
	case err != nil && !apierrors.IsNotFound(err):
		return nil, nil, fmt.Errorf("reading Secret %s/%s: %w", o.Namespace, Name, err)
	}
	logf(o.Options, "► generating a deploy key")
	return GenerateKey()
}

// keyPair derives the authorized_keys line of a private key.
func keyPair(private []byte) ([]byte, []byte, error) {
	signer, err := ssh.ParsePrivateKey(private)
	if err != nil {
		return nil, nil, fmt.Errorf("the deploy key is not a usable SSH private key: %w", err)
	}
	return private, ssh.MarshalAuthorizedKey(signer.PublicKey()), nil
}
