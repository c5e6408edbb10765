package git

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Secret data keys read by AuthFromSecret, as Flux's GitRepository.
const (
	KeyUsername    = "username"
	KeyPassword    = "password"
	KeyBearerToken = "bearerToken"
	KeyIdentity    = "identity"
	KeyKnownHosts  = "known_hosts"
	KeyCACert      = "ca.crt"
	// KeyCAFileLegacy is the older name of KeyCACert.
	KeyCAFileLegacy = "caFile"
)

// Proxy secret data keys read by ProxyFromSecret.
const (
	KeyProxyAddress  = "address"
	KeyProxyUsername = "username"
	KeyProxyPassword = "password"
)

// Auth holds the credentials for one remote. The zero value is anonymous
// access. Auth never prints its secrets (see String).
type Auth struct {
	// Username and Password are HTTP basic auth, or an SSH password when
	// no Identity is set.
	Username, Password string
	// BearerToken is sent as "Authorization: Bearer" over HTTP(S).
	BearerToken string
	// Identity is an SSH private key (PEM or OpenSSH), Password its
	// passphrase when set.
	Identity []byte
	// KnownHosts is required for SSH: the host key is always checked.
	KnownHosts []byte
	// CABundle is added to the system roots for HTTPS.
	CABundle []byte
	// Proxy, when set, is the proxy URL (may carry user info).
	Proxy *url.URL
}

// String never shows secrets.
func (a *Auth) String() string { return "git.Auth{" + a.ID()[:12] + "}" }

// AuthFromSecret reads credentials from Secret data for u. Missing keys
// mean no such credential; SSH requires known_hosts.
func AuthFromSecret(u *URL, data map[string][]byte) (*Auth, error) {
	a := &Auth{
		Username:    string(data[KeyUsername]),
		Password:    string(data[KeyPassword]),
		BearerToken: string(data[KeyBearerToken]),
		Identity:    data[KeyIdentity],
		KnownHosts:  data[KeyKnownHosts],
		CABundle:    data[KeyCACert],
	}
	if len(a.CABundle) == 0 {
		a.CABundle = data[KeyCAFileLegacy]
	}
	if u.Transport == SSH {
		if len(a.KnownHosts) == 0 {
			return nil, errors.New("the secret has no 'known_hosts': SSH host keys are always verified")
		}
		if len(a.Identity) == 0 && a.Password == "" {
			return nil, errors.New("the secret has neither 'identity' nor 'password' for SSH")
		}
	}
	if a.BearerToken != "" && a.Username != "" && u.Transport != SSH {
		return nil, errors.New("the secret sets both 'bearerToken' and 'username': choose one")
	}
	return a, nil
}

// ProxyFromSecret sets a.Proxy from proxy Secret data ("address" and
// optional "username"/"password").
func (a *Auth) ProxyFromSecret(data map[string][]byte) error {
	p, err := ProxyURL(data)
	if err != nil {
		return err
	}
	a.Proxy = p
	return nil
}

// ProxyURL is the proxy of a proxySecretRef's data (address, and
// username and password when set), for every kind that has one.
func ProxyURL(data map[string][]byte) (*url.URL, error) {
	addr := string(data[KeyProxyAddress])
	if addr == "" {
		return nil, errors.New("the proxy secret has no 'address'")
	}
	p, err := url.Parse(addr)
	if err != nil || p.Host == "" {
		return nil, errors.New("the proxy secret's 'address' is not a valid URL")
	}
	if u := string(data[KeyProxyUsername]); u != "" {
		p.User = url.UserPassword(u, string(data[KeyProxyPassword]))
	}
	return p, nil
}

// ID is a stable digest of every credential (and the proxy): two Auths
// with the same ID may share fetched content and ref listings; different
// credentials never do.
func (a *Auth) ID() string {
	if a == nil {
		a = &Auth{}
	}
	fields := map[string][]byte{
		"u": []byte(a.Username), "p": []byte(a.Password), "t": []byte(a.BearerToken),
		"i": a.Identity, "k": a.KnownHosts, "c": a.CABundle,
	}
	if a.Proxy != nil {
		fields["x"] = []byte(a.Proxy.String())
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s:%d:", k, len(fields[k]))
		h.Write(fields[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// transportAuth converts a to a go-git auth method for u.
func (a *Auth) transportAuth(u *URL) (transport.AuthMethod, error) {
	if a == nil {
		a = &Auth{}
	}
	switch u.Transport {
	case SSH:
		if len(a.KnownHosts) == 0 {
			return nil, &AuthError{Host: u.Host, Err: errors.New("no known_hosts given: SSH host keys are always verified")}
		}
		cb, err := hostKeyCallback(a.KnownHosts)
		if err != nil {
			return nil, &AuthError{Host: u.Host, Err: err}
		}
		helper := gitssh.HostKeyCallbackHelper{HostKeyCallback: cb}
		if len(a.Identity) > 0 {
			signer, err := parseIdentity(a.Identity, a.Password)
			if err != nil {
				return nil, &AuthError{Host: u.Host, Err: err}
			}
			return &gitssh.PublicKeys{User: u.User, Signer: signer, HostKeyCallbackHelper: helper}, nil
		}
		if a.Password != "" {
			return &gitssh.Password{User: u.User, Password: a.Password, HostKeyCallbackHelper: helper}, nil
		}
		return nil, &AuthError{Host: u.Host, Err: errors.New("no SSH identity or password given")}
	default:
		switch {
		case a.BearerToken != "":
			return &githttp.TokenAuth{Token: a.BearerToken}, nil
		case a.Username != "" || a.Password != "":
			return &githttp.BasicAuth{Username: a.Username, Password: a.Password}, nil
		}
		return nil, nil
	}
}

func parseIdentity(pemBytes []byte, passphrase string) (ssh.Signer, error) {
	signer, err := ssh.ParsePrivateKey(pemBytes)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if passphrase == "" {
			return nil, errors.New("the SSH identity is encrypted and no password was given")
		}
		signer, err = ssh.ParsePrivateKeyWithPassphrase(pemBytes, []byte(passphrase))
	}
	if err != nil {
		// The parser's message is safe: it names the format, not the key.
		return nil, fmt.Errorf("invalid SSH identity: %v", err)
	}
	return signer, nil
}

// hostKeyCallback checks host keys against known_hosts content (hashed
// entries, markers and wildcards included, via x/crypto's parser).
func hostKeyCallback(knownHosts []byte) (ssh.HostKeyCallback, error) {
	f, err := os.CreateTemp("", "known_hosts-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	_, werr := f.Write(knownHosts)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, werr
	}
	cb, err := knownhosts.New(f.Name())
	if err != nil {
		return nil, fmt.Errorf("invalid known_hosts: %v", stripPath(err, f.Name()))
	}
	return cb, nil
}
