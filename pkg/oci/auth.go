package oci

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// dockerConfig is the shape of a kubernetes.io/dockerconfigjson Secret's
// `.dockerconfigjson` value (and of a legacy `.dockercfg`, which is only the
// auths map).
type dockerConfig struct {
	Auths map[string]dockerAuth `json:"auths"`
}

type dockerAuth struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Auth          string `json:"auth"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// ErrNoCredentials is returned by AuthFromDockerConfig when the config holds
// no entry for the registry.
var ErrNoCredentials = errors.New("no credentials for the registry")

// AuthFromDockerConfig returns the credentials for registryHost from a
// dockerconfigjson document. Keys may be bare hosts or URLs
// (`https://index.docker.io/v1/`). Error messages never include secret
// values.
func AuthFromDockerConfig(data []byte, registryHost string) (authn.Authenticator, error) {
	var cfg dockerConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("malformed dockerconfigjson: %s", jsonErrorKind(err))
	}
	want := normalizeRegistry(registryHost)
	for key, a := range cfg.Auths {
		if normalizeRegistry(key) != want {
			continue
		}
		conf := authn.AuthConfig{
			Username:      a.Username,
			Password:      a.Password,
			IdentityToken: a.IdentityToken,
			RegistryToken: a.RegistryToken,
		}
		if a.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return nil, fmt.Errorf("malformed dockerconfigjson: the auth field of %q is not base64", key)
			}
			user, pass, ok := strings.Cut(string(raw), ":")
			if !ok {
				return nil, fmt.Errorf("malformed dockerconfigjson: the auth field of %q is not user:password", key)
			}
			conf.Username, conf.Password = user, pass
		}
		return authn.FromConfig(conf), nil
	}
	return nil, ErrNoCredentials
}

// jsonErrorKind describes a JSON error without quoting the input, which
// may hold a password.
func jsonErrorKind(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at offset %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type", typ.Field)
	default:
		return "invalid JSON"
	}
}

// normalizeRegistry reduces a docker config key or registry host to the
// host, mapping Docker Hub's aliases to one name.
func normalizeRegistry(s string) string {
	s = strings.TrimSpace(strings.ToLower(s))
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil {
			s = u.Host
		}
	}
	s, _, _ = strings.Cut(s, "/")
	switch s {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return "index.docker.io"
	}
	return s
}

// TLSConfig builds the client TLS settings from a certSecretRef's data:
// `ca.crt` adds a trusted CA, `tls.crt` and `tls.key` a client
// certificate. It returns nil when none are set.
func TLSConfig(caPEM, certPEM, keyPEM []byte) (*tls.Config, error) {
	if len(caPEM) == 0 && len(certPEM) == 0 && len(keyPEM) == 0 {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(caPEM) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("ca.crt holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	if len(certPEM) > 0 || len(keyPEM) > 0 {
		if len(certPEM) == 0 || len(keyPEM) == 0 {
			return nil, errors.New("a client certificate needs both tls.crt and tls.key")
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, errors.New("tls.crt and tls.key are not a valid key pair")
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}
