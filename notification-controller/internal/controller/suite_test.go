package controller

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	fluxcontroller "github.com/fluxcd/pkg/runtime/controller"
	"github.com/fluxcd/pkg/runtime/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	corev1 "k8s.io/api/core/v1"

	"gotk.dev/pkg/runtime/metricstest"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testenv"
)

var (
	env    *testenv.Environment
	reader client.Reader // the manager's uncached reader
)

// TestMain runs one control plane and one manager with the Receiver
// reconciler for the package; the manager stops before the control plane
// (an API server with open watches otherwise waits out its stop timeout).
func TestMain(m *testing.M) {
	ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	e, err := testenv.Start(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		os.Exit(1)
	}
	env = e
	stop, err := startManager()
	code := 1
	if err != nil {
		fmt.Fprintf(os.Stderr, "manager: %v\n", err)
	} else {
		code = m.Run()
		stop()
	}
	if err := e.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: stopping: %v\n", err)
	}
	os.Exit(code)
}

// testRetry retries failures fast, so stories that fix an object after a
// failure wait little.
var testRetry = fluxcontroller.RateLimiterOptions{MinRetryDelay: 100 * time.Millisecond, MaxRetryDelay: 5 * time.Second}

func startManager() (func(), error) {
	skip := true
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 env.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Client:                 client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		Controller:             config.Controller{SkipNameValidation: &skip},
		Cache:                  cache.Options{DefaultLabelSelector: metricstest.ExcludeShards()},
	})
	if err != nil {
		return nil, err
	}
	rec, err := events.NewRecorder(ctrl.Log, "", "notification-controller", events.WithManager(mgr))
	if err != nil {
		return nil, err
	}
	reader = mgr.GetAPIReader()
	r := &ReceiverReconciler{APIReader: mgr.GetAPIReader(), NoCrossNamespaceRefs: true}
	ctx, cancel := context.WithCancel(context.Background())
	if err := r.SetupWithManager(ctx, mgr, ReceiverOptions{ControllerName: "notification-controller", Events: rec,
		ControllerOptions: reconcile.ControllerOptions{Concurrent: 2, RateLimiter: testRetry}}); err != nil {
		cancel()
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "manager: %v\n", err)
		}
	}()
	return func() { cancel(); <-done }, nil
}
