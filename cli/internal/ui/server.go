// Package ui serves gotk's web UI: server-rendered pages of every Flux
// kind from one shared informer cache, live updates by Server-Sent
// Events, and reconcile/suspend/resume actions checked by
// SelfSubjectAccessReview. Locally it listens on loopback and talks to the
// API server with the identity of the rest.Config it is given; in a
// cluster it impersonates the users a trusted proxy names, or reads only.
package ui

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"go.uber.org/zap/zapcore"

	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	ctrlzap "sigs.k8s.io/controller-runtime/pkg/log/zap"

	"gotk.dev/cli/internal/catalog"
	"gotk.dev/pkg/apis"
)

// Options configure a Server.
type Options struct {
	// Config is the identity the UI reads and acts with.
	Config *rest.Config
	// Namespace limits the UI to one namespace when the identity may not
	// list Flux objects cluster-wide.
	Namespace string
	// SystemNamespace is where the toolkit's controllers run (default flux-system).
	SystemNamespace string
	// Heartbeat is how often an idle event stream gets a comment line.
	Heartbeat time.Duration
	// Batch is how long changes are gathered before pages are told.
	Batch time.Duration
	// Auth is who requests act as: AuthLocal (default), AuthProxyHeaders
	// or AuthReadOnly.
	Auth string
	// TrustedProxies are the networks proxy headers are accepted from
	// (AuthProxyHeaders); a request from elsewhere is refused.
	TrustedProxies []*net.IPNet
	// ProxySecret, when set, is a second way for the proxy to prove
	// itself: the HeaderProxySecret header carrying it.
	ProxySecret string
	// SessionSecret, when set, derives the session token, cookie and
	// CSRF tokens, so they survive a restart (see LoadSessionSecret).
	SessionSecret []byte
	// PublicHosts are the hosts (host[:port]) browsers reach the UI at
	// when a proxy in front of it rewrites the Host header: a POST's
	// Origin may name one of them as well as the request's own Host.
	PublicHosts []string
}

// Server is the UI: an http.Handler with its cache and session.
type Server struct {
	opts   Options
	reader client.Reader // the shared informer cache
	// stores are the cache's indexers by kind, where the informer has
	// one: a list reads them without copying objects into a List.
	stores map[string]toolscache.Indexer
	direct client.Client // uncached: actions, access reviews, events
	kinds  []catalog.Kind
	scope  string // "" = all namespaces
	events bool   // Warning events are cached
	token  string // in the printed URL, exchanged for the cookie
	sessID string // the cookie's value
	csrf   string // in every form
	secret []byte // derives the tokens above and the impersonated users' CSRF tokens
	self   *viewer
	live   *broker
	mux    *http.ServeMux

	viewersMu sync.Mutex
	viewers   map[string]*viewer // impersonated users, by user and groups
}

// New starts the cache (it stops with ctx) and returns a Server once the
// cache has synced.
func New(ctx context.Context, o Options) (*Server, error) {
	if o.Heartbeat == 0 {
		o.Heartbeat = 15 * time.Second
	}
	if o.SystemNamespace == "" {
		o.SystemNamespace = "flux-system"
	}
	if o.Batch == 0 {
		o.Batch = 100 * time.Millisecond
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	// controller-runtime's cache and client log through its global logger:
	// errors only, to stderr, so a long-running `gotk ui` stays quiet.
	ctrllog.SetLogger(ctrlzap.New(ctrlzap.WriteTo(os.Stderr), ctrlzap.Level(zapcore.ErrorLevel)))
	scheme, err := apis.NewScheme()
	if err != nil {
		return nil, err
	}
	direct, err := client.New(o.Config, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("connecting to the API server: %w", err)
	}
	s := &Server{opts: o, direct: direct, live: newBroker(o.Batch), secret: o.SessionSecret, viewers: map[string]*viewer{}}
	if s.secret == nil {
		s.secret = []byte(randomHex())
	}
	s.token, s.sessID, s.csrf = derive(s.secret, "token"), derive(s.secret, "session"), derive(s.secret, "csrf")
	s.self = &viewer{client: direct, config: o.Config, readOnly: o.Auth == AuthReadOnly}
	if err := s.startCache(ctx, scheme); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// ServeHTTP serves the UI with the security headers every answer carries.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

// LoginPath is the path with the session token that opens a session.
func (s *Server) LoginPath() string { return "/login?token=" + s.token }

// validate names the first bad option.
func (o Options) validate() error {
	switch o.Auth {
	case "", AuthLocal, AuthReadOnly:
	case AuthProxyHeaders:
		if len(o.TrustedProxies) == 0 && o.ProxySecret == "" {
			return fmt.Errorf("--auth=%s needs a trusted source: --trusted-proxy-cidr or --trusted-proxy-secret-file", AuthProxyHeaders)
		}
	default:
		return fmt.Errorf("--auth %q: want %s, %s or %s", o.Auth, AuthLocal, AuthProxyHeaders, AuthReadOnly)
	}
	return nil
}

// Serve listens on addr and serves until ctx ends; ready receives the URL
// to open once it listens. In local mode the address must be loopback:
// the kubeconfig identity is not for the network.
func (s *Server) Serve(ctx context.Context, addr string, ready func(url string)) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--address %q: %w", addr, err)
	}
	local := s.opts.Auth == "" || s.opts.Auth == AuthLocal
	if ip := net.ParseIP(host); local && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--address %q: with your own identity the UI listens on loopback only", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if local {
		ready("http://" + ln.Addr().String() + s.LoginPath())
	} else {
		ready("http://" + ln.Addr().String() + "/")
	}
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func randomHex() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b)
}
