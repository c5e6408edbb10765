// Command notification-controller runs gotk's notification-controller: it
// receives events from the other controllers and webhooks from Git hosts.
package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"gotk.dev/notification-controller/internal/controller"
	"gotk.dev/notification-controller/internal/server"
	"gotk.dev/pkg/apis"
	"gotk.dev/pkg/runtime/manager"
)

const controllerName = "notification-controller"

func main() {
	var (
		opts              manager.Options
		eventsAddr        string
		receiverAddr      string
		rateLimitInterval time.Duration
		tenancy           manager.Tenancy
	)
	// Here --events-addr is where events arrive, not where they are sent.
	opts.BindFlags(pflag.CommandLine, 4, false)
	pflag.StringVar(&eventsAddr, "events-addr", ":9090", "The address the event endpoint binds to.")
	pflag.StringVar(&receiverAddr, "receiverAddr", ":9292", "The address the webhook receiver endpoint binds to.")
	pflag.DurationVar(&rateLimitInterval, "rate-limit-interval", 5*time.Minute, "Interval in which duplicate events are dropped.")
	tenancy.BindNoCrossNamespaceRefs(pflag.CommandLine)
	pflag.Parse()
	opts.Kinds = controller.Kinds()
	manager.Run(controllerName, apis.MustNewScheme(), opts, func(c *manager.Controller) error {
		return setup(c, opts, endpoints{eventsAddr: eventsAddr, receiverAddr: receiverAddr}, rateLimitInterval, tenancy.NoCrossNamespaceRefs)
	}, &corev1.Secret{}, &corev1.ServiceAccount{})
}

// endpoints say where the two servers listen: on an address, or on a
// listener already bound (tests: no window in which another process can
// take a port picked for them).
type endpoints struct {
	eventsAddr, receiverAddr string
	events, receiver         net.Listener
}

// setup wires the Receiver reconciler and the two servers into the manager.
func setup(c *manager.Controller, opts manager.Options, ep endpoints, rateLimit time.Duration, noCrossNS bool) error {
	mgr := c.Manager
	ctx := context.Background()
	if err := server.IndexReceivers(ctx, mgr); err != nil {
		return fmt.Errorf("indexing Receivers: %w", err)
	}
	rec := &controller.ReceiverReconciler{APIReader: mgr.GetAPIReader(), NoCrossNamespaceRefs: noCrossNS}
	if err := rec.SetupWithManager(ctx, mgr, controller.ReceiverOptions{
		ControllerName: controllerName, Events: c.Events, ControllerOptions: opts.ControllerOptions(),
	}); err != nil {
		return fmt.Errorf("setting up the Receiver controller: %w", err)
	}
	if err := mgr.Add(&server.EventServer{
		Addr: ep.eventsAddr, Listener: ep.events, Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: c.Events,
		RateLimit: rateLimit, NoCrossNamespaceRefs: noCrossNS, Log: ctrl.Log.WithName("event-server"),
		WorkloadIdentity: c.Features.Enabled(manager.GateObjectLevelWorkloadIdentity), Tokens: mgr.GetClient(),
	}); err != nil {
		return err
	}
	return mgr.Add(&server.ReceiverServer{
		Addr: ep.receiverAddr, Listener: ep.receiver, Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), SecretMeta: mgr.GetCache(),
		NoCrossNamespaceRefs: noCrossNS, Log: ctrl.Log.WithName("receiver-server"),
	})
}
