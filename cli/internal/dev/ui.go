package dev

import (
	"context"
	"fmt"

	"k8s.io/client-go/rest"

	"gotk.dev/cli/internal/ui"
)

// startUI serves `gotk ui` for the local cluster until ctx ends and
// returns the URL to open (its token opens a session).
func startUI(ctx context.Context, cfg *rest.Config, addr string) (string, error) {
	s, err := ui.New(ctx, ui.Options{Config: rest.CopyConfig(cfg)})
	if err != nil {
		return "", fmt.Errorf("starting the web UI: %w", err)
	}
	urls, errs := make(chan string, 1), make(chan error, 1)
	go func() { errs <- s.Serve(ctx, addr, func(u string) { urls <- u }) }()
	select {
	case u := <-urls:
		return u, nil
	case err := <-errs:
		return "", fmt.Errorf("serving the web UI: %w", err)
	}
}
