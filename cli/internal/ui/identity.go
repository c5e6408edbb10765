package ui

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Auth modes: who a request acts as.
const (
	// AuthLocal is `gotk ui` on a laptop: the kubeconfig identity, a
	// session opened by the token of the printed URL.
	AuthLocal = "local"
	// AuthProxyHeaders impersonates the user and groups a trusted reverse
	// proxy (oauth2-proxy and the like) names in its headers.
	AuthProxyHeaders = "proxy-headers"
	// AuthReadOnly reads as the UI's own identity and never acts.
	AuthReadOnly = "read-only"
)

// The oauth2-proxy convention for the authenticated user.
const (
	headerUser   = "X-Forwarded-User"
	headerEmail  = "X-Forwarded-Email"
	headerGroups = "X-Forwarded-Groups"
	// HeaderProxySecret carries the shared secret that proves a request
	// came through the trusted proxy (when Options.ProxySecret is set).
	HeaderProxySecret = "X-Gotk-Proxy-Secret"
)

// viewTTL bounds how long a user's client and access answers are reused:
// an RBAC change shows within it.
const viewTTL = time.Minute

// viewer is who a request acts as: the client it reads and acts with,
// and, for an impersonated user, the access answers it filters by.
type viewer struct {
	key      string // user and groups; "" for the UI's own identity
	user     string
	client   client.Client
	config   *rest.Config
	readOnly bool
	created  time.Time

	mu     sync.Mutex
	access map[authorizationv1.ResourceAttributes]bool
}

type viewerKey struct{}

// viewerOf is the request's viewer (the UI's own identity outside a request).
func (s *Server) viewerOf(ctx context.Context) *viewer {
	if v, ok := ctx.Value(viewerKey{}).(*viewer); ok {
		return v
	}
	return s.self
}

// client is the client a request reads uncached and acts with.
func (s *Server) client(ctx context.Context) client.Client { return s.viewerOf(ctx).client }

// trustedProxy reports whether a request came through the configured
// proxy: from one of its networks, or carrying its shared secret.
func (s *Server) trustedProxy(r *http.Request) bool {
	if s.opts.ProxySecret != "" && equal(r.Header.Get(HeaderProxySecret), s.opts.ProxySecret) {
		return true
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && slices.ContainsFunc(s.opts.TrustedProxies, func(n *net.IPNet) bool { return n.Contains(ip) })
}

// errSystemIdentity refuses proxy headers naming a system: user or group.
var errSystemIdentity = errors.New("forbidden: the UI does not impersonate system: users or groups")

// impersonated returns the viewer of the user and groups in the proxy
// headers, reusing it for viewTTL.
func (s *Server) impersonated(r *http.Request) (*viewer, error) {
	user := strings.TrimSpace(r.Header.Get(headerUser))
	if user == "" {
		user = strings.TrimSpace(r.Header.Get(headerEmail))
	}
	if user == "" {
		return nil, fmt.Errorf("the proxy named no user (%s or %s)", headerUser, headerEmail)
	}
	var groups []string
	for _, g := range strings.Split(r.Header.Get(headerGroups), ",") {
		if g = strings.TrimSpace(g); g != "" {
			groups = append(groups, g)
		}
	}
	// Kubernetes' own identities (system:masters, service accounts, nodes)
	// are not people a proxy signs in: never impersonate them.
	if strings.HasPrefix(user, "system:") || slices.ContainsFunc(groups, func(g string) bool { return strings.HasPrefix(g, "system:") }) {
		return nil, errSystemIdentity
	}
	key := user + "\x00" + strings.Join(groups, "\x00")
	s.viewersMu.Lock()
	defer s.viewersMu.Unlock()
	if v, ok := s.viewers[key]; ok && time.Since(v.created) < viewTTL {
		return v, nil
	}
	for k, v := range s.viewers { // drop the stale ones so the map stays small
		if time.Since(v.created) >= viewTTL {
			delete(s.viewers, k)
		}
	}
	cfg := rest.CopyConfig(s.opts.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: s.direct.Scheme(), Mapper: s.direct.RESTMapper(), HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	v := &viewer{key: key, user: user, client: c, config: cfg, created: time.Now(),
		access: map[authorizationv1.ResourceAttributes]bool{}}
	s.viewers[key] = v
	return v, nil
}

// visible reports whether the request's viewer may read (verb) the
// resource in namespace ns. The UI's own identity sees its whole cache;
// an impersonated user sees what a SelfSubjectAccessReview allows,
// cluster-wide or in that namespace.
func (s *Server) visible(ctx context.Context, verb, group, resource, ns string) bool {
	v := s.viewerOf(ctx)
	if v.key == "" {
		return true
	}
	for _, scope := range []string{"", ns} {
		ok, err := v.may(ctx, authorizationv1.ResourceAttributes{Verb: verb, Group: group, Resource: resource, Namespace: scope})
		if err == nil && ok {
			return true
		}
	}
	return false
}

// may asks once per viewTTL what the viewer may do.
func (v *viewer) may(ctx context.Context, attrs authorizationv1.ResourceAttributes) (bool, error) {
	v.mu.Lock()
	ok, found := v.access[attrs]
	v.mu.Unlock()
	if found {
		return ok, nil
	}
	ok, err := allowedFor(ctx, v.client, attrs)
	if err != nil {
		return false, err
	}
	v.mu.Lock()
	v.access[attrs] = ok
	v.mu.Unlock()
	return ok, nil
}

// csrfFor is the CSRF token of the viewer's forms: one per session, or,
// for an impersonated user, derived from the server's secret and the
// user, so one user's token is worthless to another.
func (s *Server) csrfFor(v *viewer) string {
	if v.key == "" {
		return s.csrf
	}
	return derive(s.secret, "csrf\x00"+v.key)
}

// derive is an HMAC of label under secret, hex-encoded.
func derive(secret []byte, label string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	return hex.EncodeToString(m.Sum(nil))
}
