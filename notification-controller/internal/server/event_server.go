package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/notification-controller/internal/event"
	"gotk.dev/notification-controller/internal/notifier"
)

// EventRecorder records Kubernetes events on Alerts (they have no status,
// so problems are reported this way).
type EventRecorder interface {
	Eventf(object runtime.Object, related runtime.Object, eventtype, reason, action, note string, args ...any)
}

// EventServer accepts Flux-format events, answers at once (202, or 400 /
// 429), and dispatches accepted events to the Providers of the Alerts that
// select them, in the background.
type EventServer struct {
	// Addr is the bind address (--events-addr), used when Listener is nil.
	Addr string
	// Listener, when set, is served instead of listening on Addr.
	Listener net.Listener
	// Client reads Alerts and Providers (cached).
	Client client.Reader
	// APIReader reads Secrets and involved objects uncached.
	APIReader client.Reader
	// Recorder reports problems as events on the Alerts.
	Recorder EventRecorder
	// RateLimit is --rate-limit-interval: a duplicate within it gets 429.
	RateLimit time.Duration
	// NoCrossNamespaceRefs makes Alerts ignore sources in other namespaces.
	NoCrossNamespaceRefs bool
	// Retry bounds delivery attempts; zero means notifier.DefaultRetry.
	Retry notifier.Retry
	// MaxInFlight bounds concurrent dispatches; a full server makes senders
	// wait (back-pressure) instead of dropping events. Default 64.
	MaxInFlight int
	// Log is the server's logger.
	Log logr.Logger
	// WorkloadIdentity is the ObjectLevelWorkloadIdentity feature gate:
	// whether a Provider's spec.serviceAccountName is honoured.
	WorkloadIdentity bool
	// Tokens reads the ServiceAccount a Provider's spec.serviceAccountName
	// names and mints its tokens (TokenRequest).
	Tokens client.Client
	// CloudHTTPClient, when set, carries the cloud token requests and the
	// requests to the cloud services (Pub/Sub, Event Hubs).
	CloudHTTPClient *http.Client

	once      sync.Once
	limiter   *event.Limiter
	sem       chan struct{}
	inflight  sync.WaitGroup
	pending   atomic.Int64
	regexes   regexCache
	notifiers notifierCache
	baseCtx   context.Context
	cancel    context.CancelFunc
}

func (s *EventServer) init() {
	s.once.Do(func() {
		registerMetrics()
		s.limiter = event.NewLimiter(s.RateLimit)
		n := s.MaxInFlight
		if n <= 0 {
			n = 64
		}
		s.sem = make(chan struct{}, n)
		s.baseCtx, s.cancel = context.WithCancel(context.Background())
	})
}

// NeedLeaderElection is false: every replica accepts events.
func (s *EventServer) NeedLeaderElection() bool { return false }

// Start serves until ctx is done, then waits (bounded) for dispatches in
// flight so that accepted events are not dropped on a clean shutdown.
func (s *EventServer) Start(ctx context.Context) error {
	s.init()
	s.Log.Info("starting the event server", "addr", s.Addr)
	err := serve(ctx, s.Addr, s.Listener, s)
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		s.Log.Info("shutting down with notifications still in flight")
	}
	s.cancel()
	return err
}

// ServeHTTP ingests one event.
func (s *EventServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.init()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "only POST is accepted", http.StatusMethodNotAllowed)
		return
	}
	ev, err := event.Read(http.MaxBytesReader(w, r.Body, event.MaxBodySize))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = event.ErrTooLarge
		}
		eventsTotal.WithLabelValues("invalid").Inc()
		s.Log.V(1).Info("refused an event", "error", err.Error())
		http.Error(w, "invalid event: "+err.Error(), http.StatusBadRequest)
		return
	}
	key := event.DedupKey(ev)
	if !s.limiter.Allow(key) {
		eventsTotal.WithLabelValues("duplicate").Inc()
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	event.CleanupMetadata(ev)

	// Taking the slot before answering is the back-pressure. A sender that
	// gives up waiting did not get a 202, so it may send the event again:
	// forget its key.
	select {
	case s.sem <- struct{}{}:
	case <-r.Context().Done():
		s.limiter.Forget(key)
		return
	}
	eventsTotal.WithLabelValues("accepted").Inc()
	s.inflight.Add(1)
	s.pending.Add(1)
	w.WriteHeader(http.StatusAccepted)
	go func() {
		defer func() { <-s.sem; s.pending.Add(-1); s.inflight.Done() }()
		s.dispatch(s.baseCtx, ev)
	}()
}

// Drain waits until no accepted event is being dispatched, or ctx is done.
// Tests use it to assert that a filtered event was not delivered.
func (s *EventServer) Drain(ctx context.Context) error {
	s.init()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for s.pending.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}
