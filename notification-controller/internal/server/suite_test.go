package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	"github.com/fluxcd/pkg/runtime/events"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"gotk.dev/notification-controller/internal/controller"
	"gotk.dev/notification-controller/internal/notifier"
	"gotk.dev/notification-controller/internal/webhook"
	notificationv1 "gotk.dev/pkg/apis/notification/v1beta3"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testenv"
)

var env *testenv.Environment

// TestMain is testenv.Main plus stopping the shared manager before the
// control plane: an API server with open watches takes its whole stop
// timeout to exit.
func TestMain(m *testing.M) {
	e, err := testenv.Start(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		os.Exit(1)
	}
	env = e
	code := m.Run()
	if shared != nil {
		shared.stop()
	}
	if err := e.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: stopping: %v\n", err)
	}
	os.Exit(code)
}

// harness is one manager running the Receiver reconciler and both servers
// on loopback, shared by the package's tests and benchmarks.
type harness struct {
	client      client.Client // the manager's cached client
	google      *oidcIssuer   // stands in for Google's issuer (gcr)
	oidc        *oidcIssuer   // a generic-oidc issuer
	events      *EventServer
	recorder    EventRecorder
	eventsURL   string
	receiverURL string
	http        *http.Client
	stop        func()
}

var (
	shared     *harness
	sharedOnce sync.Once
	sharedErr  error
)

// testRetry keeps provider-down tests quick: 3 attempts, 10ms apart.
var testRetry = notifier.Retry{Attempts: 3, Min: 10 * time.Millisecond, Max: 20 * time.Millisecond}

func start(t testing.TB) *harness {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = newHarness() })
	if sharedErr != nil {
		t.Fatalf("starting the harness: %v", sharedErr)
	}
	return shared
}

func newHarness() (*harness, error) {
	ctrl.SetLogger(zap.New(zap.UseDevMode(false), zap.WriteTo(io.Discard)))
	skip := true
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 env.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Client:                 client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		Controller:             config.Controller{SkipNameValidation: &skip},
	})
	if err != nil {
		return nil, err
	}
	rec, err := events.NewRecorder(ctrl.Log, "", "notification-controller", events.WithManager(mgr))
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	if err := IndexReceivers(ctx, mgr); err != nil {
		return nil, err
	}
	if err := (&controller.ReceiverReconciler{APIReader: mgr.GetAPIReader()}).SetupWithManager(ctx, mgr,
		controller.ReceiverOptions{ControllerName: "notification-controller", Events: rec,
			ControllerOptions: reconcile.ControllerOptions{Concurrent: 2}}); err != nil {
		return nil, err
	}
	evLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rcvLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	es := &EventServer{Listener: evLn, Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: rec,
		RateLimit: 5 * time.Minute, Retry: testRetry, Log: ctrl.Log.WithName("event-server"),
		WorkloadIdentity: true, Tokens: env.Client, CloudHTTPClient: &http.Client{Transport: &testCloudTransport}}
	google, err := newOIDCIssuer()
	if err != nil {
		return nil, err
	}
	oidc, err := newOIDCIssuer()
	if err != nil {
		return nil, err
	}
	rs := &ReceiverServer{Listener: rcvLn, Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), SecretMeta: mgr.GetCache(),
		Issuers: &webhook.Issuers{Google: google.URL}, Log: ctrl.Log.WithName("receiver-server")}
	if err := mgr.Add(es); err != nil {
		return nil, err
	}
	if err := mgr.Add(rs); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := mgr.Start(ctx); err != nil {
			fmt.Printf("manager stopped: %v\n", err)
		}
	}()
	stop := func() { cancel(); <-stopped; google.srv.Close(); oidc.srv.Close() }
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		stop()
		return nil, fmt.Errorf("cache did not sync")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &harness{
		client: mgr.GetClient(), events: es, recorder: rec, google: google, oidc: oidc,
		eventsURL: "http://" + evLn.Addr().String(), receiverURL: "http://" + rcvLn.Addr().String(),
		http: &http.Client{Transport: tr, Timeout: 30 * time.Second},
		stop: stop,
	}, nil
}

// post sends body to url and returns the status code.
func (h *harness) post(t testing.TB, url string, body []byte, header map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := h.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// postEvent POSTs a Flux event to the ingest server.
func (h *harness) postEvent(t testing.TB, ev eventv1.Event) int {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return h.post(t, h.eventsURL+"/", b, nil)
}

// drain waits until every accepted event has been dispatched.
func (h *harness) drain(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.events.Drain(ctx); err != nil {
		t.Fatalf("dispatches still in flight: %v", err)
	}
}

// create creates obj and waits until the manager's cache has it, so the
// servers see it.
func (h *harness) create(t testing.TB, obj client.Object) {
	t.Helper()
	g := NewWithT(t)
	g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	key := client.ObjectKeyFromObject(obj)
	fresh := obj.DeepCopyObject().(client.Object)
	g.Eventually(func() error { return h.client.Get(context.Background(), key, fresh) }, 10*time.Second, 20*time.Millisecond).Should(Succeed())
}

func newEvent(kind, name, ns, severity, msg string) eventv1.Event {
	apiVersion := map[string]string{
		"Kustomization": "kustomize.toolkit.fluxcd.io/v1", "HelmRelease": "helm.toolkit.fluxcd.io/v2",
		"GitRepository": "source.toolkit.fluxcd.io/v1",
	}[kind]
	return eventv1.Event{
		InvolvedObject: corev1.ObjectReference{Kind: kind, Name: name, Namespace: ns, APIVersion: apiVersion},
		Severity:       severity, Timestamp: metav1.Now(), Message: msg, Reason: "Progressing",
		ReportingController: "kustomize-controller",
	}
}

func secret(ns, name string, data map[string]string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: data}
}

func provider(ns, name, typ string, spec notificationv1.ProviderSpec) *notificationv1.Provider {
	spec.Type = typ
	return &notificationv1.Provider{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
}
