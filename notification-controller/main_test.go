package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/events"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	notificationv1 "gotk.dev/pkg/apis/notification/v1"
	notificationv1beta3 "gotk.dev/pkg/apis/notification/v1beta3"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/runtime/manager"
	"gotk.dev/pkg/testenv"
	"gotk.dev/pkg/testserver"
)

var env *testenv.Environment

func TestMain(m *testing.M) {
	ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	e, err := testenv.Start(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		os.Exit(1)
	}
	env = e
	code := m.Run()
	if err := e.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: stopping: %v\n", err)
	}
	os.Exit(code)
}

// listen binds a listener on a free local port, closed when t ends.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestSetup runs the controller as main wires it: an event reaches a
// Provider through an Alert, and a signed webhook annotates a GitRepository.
func TestSetup(t *testing.T) {
	g := NewWithT(t)
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
	})
	g.Expect(err).NotTo(HaveOccurred())
	rec, err := events.NewRecorder(ctrl.Log, "", controllerName, events.WithManager(mgr))
	g.Expect(err).NotTo(HaveOccurred())
	eventsLn, receiverLn := listen(t), listen(t)
	eventsAddr, receiverAddr := eventsLn.Addr().String(), receiverLn.Addr().String()
	g.Expect(setup(&manager.Controller{Manager: mgr, Events: rec}, manager.Options{Concurrent: 2},
		endpoints{events: eventsLn, receiver: receiverLn}, time.Minute, false)).To(Succeed())
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- mgr.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-stopped })
	// A manager that stops early leaves its cache unsynced, and a cached
	// read would then wait forever: fail with the manager's error instead.
	running := func() {
		select {
		case err := <-stopped:
			stopped <- err
			StopTrying(fmt.Sprintf("the manager stopped: %v", err)).Now()
		default:
		}
	}

	ns := env.NewNamespace(t)
	sink := testserver.NewWebhookSinkForTest(t)
	for _, obj := range []client.Object{
		&notificationv1beta3.Provider{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hook"},
			Spec: notificationv1beta3.ProviderSpec{Type: "generic", Address: sink.URL()}},
		&notificationv1beta3.Alert{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "all"},
			Spec: notificationv1beta3.AlertSpec{ProviderRef: meta.LocalObjectReference{Name: "hook"},
				EventSources: []notificationv1beta3.CrossNamespaceObjectReference{{Kind: "GitRepository", Name: "*"}}}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "token"}, StringData: map[string]string{"token": "tok"}},
		&sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
			Spec: sourcev1.GitRepositorySpec{URL: "https://example.com/app", Interval: metav1.Duration{Duration: time.Hour}}},
		&notificationv1.Receiver{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gh"},
			Spec: notificationv1.ReceiverSpec{Type: "github", SecretRef: &meta.LocalObjectReference{Name: "token"},
				Resources: []notificationv1.CrossNamespaceObjectReference{{Kind: "GitRepository", Name: "app"}}}},
	} {
		g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	}

	ev, _ := json.Marshal(eventv1.Event{
		InvolvedObject: corev1.ObjectReference{Kind: "GitRepository", Name: "app", Namespace: ns, APIVersion: "source.toolkit.fluxcd.io/v1"},
		Severity:       "info", Message: "stored artifact for commit 'initial'", Reason: "NewArtifact", ReportingController: "source-controller",
	})
	// Wait until the servers' cache has the Alert and Provider, then send once.
	g.Eventually(func(g Gomega) {
		running()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		g.Expect(mgr.GetClient().Get(ctx, client.ObjectKey{Namespace: ns, Name: "all"}, &notificationv1beta3.Alert{})).To(Succeed())
		g.Expect(mgr.GetClient().Get(ctx, client.ObjectKey{Namespace: ns, Name: "hook"}, &notificationv1beta3.Provider{})).To(Succeed())
	}, 20*time.Second, 50*time.Millisecond).Should(Succeed())
	g.Eventually(func(g Gomega) {
		resp, err := http.Post("http://"+eventsAddr+"/", "application/json", bytes.NewReader(ev))
		g.Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		g.Expect(resp.StatusCode).To(Equal(http.StatusAccepted))
	}, 20*time.Second, 100*time.Millisecond).Should(Succeed())
	sink.WaitFor(t, 1, 10*time.Second)

	rcv := &notificationv1.Receiver{}
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "gh"}, rcv)).To(Succeed())
		g.Expect(conditions.IsReady(rcv)).To(BeTrue())
	}, 20*time.Second, 50*time.Millisecond).Should(Succeed())
	body := []byte(`{"ref":"refs/heads/main"}`)
	mac := hmac.New(sha256.New, []byte("tok"))
	mac.Write(body)
	g.Eventually(func(g Gomega) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+receiverAddr+rcv.Status.WebhookPath, bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		g.Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	}, 20*time.Second, 100*time.Millisecond).Should(Succeed())
	repo := &sourcev1.GitRepository{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "app"}, repo)).To(Succeed())
	g.Expect(repo.Annotations).To(HaveKey(meta.ReconcileRequestAnnotation))
}
