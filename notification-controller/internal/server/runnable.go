// Package server holds notification-controller's two HTTP servers, run as
// manager Runnables: the event ingest server (events → Alerts → Providers)
// and the Receiver webhook server (webhooks → reconcile requests).
package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// serve runs h on the listener (or a new one on addr) until ctx is done,
// then shuts down gracefully.
func serve(ctx context.Context, addr string, ln net.Listener, h http.Handler) error {
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", addr); err != nil {
			return err
		}
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := srv.Shutdown(shutdown)
		if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			return serr
		}
		return err
	}
}
