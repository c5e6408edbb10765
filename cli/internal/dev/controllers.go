package dev

import (
	"context"
	"fmt"

	"gotk.dev/pkg/localcluster"
)

// startControllers runs the five controllers as the cluster admin, with
// state under stateDir.
func startControllers(ctx context.Context, binDir, stateDir, kubeconfig string) (*localcluster.Controllers, error) {
	return localcluster.StartControllers(ctx, localcluster.ControllersOptions{
		BinDir: binDir, StateDir: stateDir, Kubeconfig: kubeconfig, Namespace: Namespace,
	})
}

func printEndpoints(c *localcluster.Controllers) {
	fmt.Printf("  artifacts:  http://127.0.0.1:%d/\n", c.StoragePort)
	fmt.Printf("  events:     http://127.0.0.1:%d/\n", c.EventsPort)
	fmt.Printf("  webhooks:   http://127.0.0.1:%d/hook/...\n", c.ReceiverPort)
	for _, ctl := range c.List {
		fmt.Printf("  %-28s metrics :%d  health :%d  log %s\n", ctl.Name, ctl.MetricsPort, ctl.HealthPort, ctl.Proc.LogPath)
	}
}
