// Command notification-controller runs gotk's notification-controller: it
// receives events from the other controllers and webhooks from Git hosts.
package main

import (
	"github.com/spf13/pflag"

	"gotk.dev/pkg/apis"
	"gotk.dev/pkg/runtime/manager"
)

const controllerName = "notification-controller"

func main() {
	var (
		opts              manager.Options
		eventsAddr        string
		receiverAddr      string
		rateLimitInterval string
	)
	// Here --events-addr is where events arrive, not where they are sent.
	opts.BindFlags(pflag.CommandLine, 4, false)
	pflag.StringVar(&eventsAddr, "events-addr", ":9090", "The address the event endpoint binds to.")
	pflag.StringVar(&receiverAddr, "receiverAddr", ":9292", "The address the webhook receiver endpoint binds to.")
	pflag.StringVar(&rateLimitInterval, "rate-limit-interval", "5m", "Interval in which duplicate events are dropped.")
	pflag.Parse()
	manager.Run(controllerName, apis.MustNewScheme(), opts, func(*manager.Controller) error {
		return nil
	})
}
