// Package ui serves gotk's web UI: server-rendered pages of every Flux
// kind from one shared informer cache, live updates by Server-Sent
// Events, and reconcile/suspend/resume actions checked by
// SelfSubjectAccessReview. It listens on loopback and talks to the API
// server with the identity of the rest.Config it is given.
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
	"time"

	"go.uber.org/zap/zapcore"

	"k8s.io/client-go/rest"
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
}

// Server is the UI: an http.Handler with its cache and session.
type Server struct {
	opts   Options
	reader client.Reader // the shared informer cache
	direct client.Client // uncached: actions, access reviews, events
	kinds  []catalog.Kind
	scope  string // "" = all namespaces
	events bool   // Warning events are cached
	token  string // in the printed URL, exchanged for the cookie
	sessID string // the cookie's value
	csrf   string // in every form
	live   *broker
	mux    *http.ServeMux
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
	s := &Server{opts: o, direct: direct, live: newBroker(o.Batch),
		token: randomHex(), sessID: randomHex(), csrf: randomHex()}
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

// Serve listens on addr (loopback only) and serves until ctx ends; ready
// receives the URL to open once it listens.
func (s *Server) Serve(ctx context.Context, addr string, ready func(url string)) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--address %q: the UI listens on loopback only", addr)
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
	ready("http://" + ln.Addr().String() + s.LoginPath())
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
