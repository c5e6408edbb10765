package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"gotk.dev/notification-controller/internal/notifier"
	notificationv1 "gotk.dev/pkg/apis/notification/v1beta3"
)

// configError is a Provider that cannot be used as configured; its message
// names Secrets and keys, never their values.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

func invalidConfig(format string, args ...any) error {
	return &configError{msg: fmt.Sprintf(format, args...)}
}

// resolveConfig reads the Provider's Secrets into a notifier.Config.
func resolveConfig(ctx context.Context, r client.Reader, p *notificationv1.Provider, retry notifier.Retry) (notifier.Config, error) {
	cfg := notifier.Config{
		Type: p.Spec.Type, Address: p.Spec.Address, Channel: p.Spec.Channel, Username: p.Spec.Username,
		Timeout: p.GetTimeout(), Retry: retry, ProviderUID: string(p.UID),
	}
	proxy := p.Spec.Proxy
	if ref := p.Spec.SecretRef; ref != nil {
		s, err := getSecret(ctx, r, p.Namespace, ref.Name)
		if err != nil {
			return cfg, err
		}
		if v, ok := s.Data["address"]; ok {
			cfg.Address = strings.TrimSpace(string(v))
		}
		if v, ok := s.Data["token"]; ok {
			cfg.Token = strings.TrimSpace(string(v))
		}
		cfg.BasicUser, cfg.BasicPassword = string(s.Data["username"]), string(s.Data["password"])
		if v, ok := s.Data["headers"]; ok {
			if err := yaml.Unmarshal(v, &cfg.Headers); err != nil {
				return cfg, invalidConfig("secret %s: key `headers` is not a YAML map of strings", ref.Name)
			}
		}
		if v, ok := s.Data["proxy"]; ok {
			proxy = strings.TrimSpace(string(v))
		}
	}
	var proxyUser, proxyPass string
	if ref := p.Spec.ProxySecretRef; ref != nil {
		s, err := getSecret(ctx, r, p.Namespace, ref.Name)
		if err != nil {
			return cfg, err
		}
		proxy = strings.TrimSpace(string(s.Data["address"]))
		if proxy == "" {
			return cfg, invalidConfig("proxy secret %s: key `address` is missing", ref.Name)
		}
		proxyUser, proxyPass = string(s.Data["username"]), string(s.Data["password"])
	}
	if proxy != "" {
		u, err := url.Parse(proxy)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return cfg, invalidConfig("the proxy address is not an http(s) URL")
		}
		if proxyUser != "" {
			u.User = url.UserPassword(proxyUser, proxyPass)
		}
		cfg.Proxy = u
	}
	if ref := p.Spec.CertSecretRef; ref != nil {
		s, err := getSecret(ctx, r, p.Namespace, ref.Name)
		if err != nil {
			return cfg, err
		}
		tlsCfg, err := tlsConfig(ref.Name, s)
		if err != nil {
			return cfg, err
		}
		cfg.TLS = tlsCfg
	}
	return cfg, nil
}

func getSecret(ctx context.Context, r client.Reader, ns, name string) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
		return nil, invalidConfig("reading secret %s: %s", name, reasonOf(err))
	}
	return s, nil
}

// reasonOf keeps API errors short: "not found", "forbidden", ….
func reasonOf(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && len(msg)-i < 80 {
		return msg[i+2:]
	}
	return msg
}

// tlsConfig builds a client TLS config from `ca.crt` and `tls.crt`/`tls.key`
// (the legacy `caFile`/`certFile`/`keyFile` keys are accepted too).
func tlsConfig(name string, s *corev1.Secret) (*tls.Config, error) {
	pick := func(keys ...string) []byte {
		for _, k := range keys {
			if v, ok := s.Data[k]; ok {
				return v
			}
		}
		return nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca := pick("ca.crt", "caFile"); ca != nil {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(ca) {
			return nil, invalidConfig("cert secret %s: `ca.crt` holds no PEM certificate", name)
		}
		cfg.RootCAs = pool
	}
	crt, key := pick("tls.crt", "certFile"), pick("tls.key", "keyFile")
	if (crt == nil) != (key == nil) {
		return nil, invalidConfig("cert secret %s: `tls.crt` and `tls.key` must be set together", name)
	}
	if crt != nil {
		pair, err := tls.X509KeyPair(crt, key)
		if err != nil {
			return nil, invalidConfig("cert secret %s: the client certificate and key do not load", name)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if cfg.RootCAs == nil && cfg.Certificates == nil {
		return nil, invalidConfig("cert secret %s: neither `ca.crt` nor `tls.crt`/`tls.key` is set", name)
	}
	return cfg, nil
}

// notifierCache keeps a Provider's notifier (its HTTP client and resolved
// Secrets) for a short time so a burst of events neither re-reads the
// Secrets per event nor opens a connection per event. A changed Provider
// gets a new entry at once (the key has its resourceVersion); a changed
// Secret is picked up within cacheTTL.
type notifierCache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	n       notifier.Notifier
	expires time.Time
}

const cacheTTL = 30 * time.Second

func (c *notifierCache) get(key string, build func() (notifier.Notifier, error)) (notifier.Notifier, error) {
	now := time.Now()
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]cacheEntry{}
	}
	if e, ok := c.entries[key]; ok && now.Before(e.expires) {
		c.mu.Unlock()
		return e.n, nil
	}
	for k, e := range c.entries {
		if now.After(e.expires) {
			delete(c.entries, k)
		}
	}
	c.mu.Unlock()
	n, err := build()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.entries[key] = cacheEntry{n: n, expires: now.Add(cacheTTL)}
	c.mu.Unlock()
	return n, nil
}
