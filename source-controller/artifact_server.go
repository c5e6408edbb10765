package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"gotk.dev/pkg/artifact"
)

// artifactServer serves the storage over HTTP on the elected leader only:
// the leader writes the artifacts, a standby's storage is empty. It tells
// /readyz when it listens, so the Service routes downloads to it only.
type artifactServer struct {
	addr      string
	storage   *artifact.Storage
	listening atomic.Bool
}

// NeedLeaderElection is true: only the leader has artifacts to serve.
func (s *artifactServer) NeedLeaderElection() bool { return true }

// Start listens, then serves until ctx is done.
func (s *artifactServer) Start(ctx context.Context) error {
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("artifact server: %w", err)
	}
	srv := &http.Server{Handler: artifact.NewServer(s.storage), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		s.listening.Store(false)
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	s.listening.Store(true)
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// serving is the readiness check: nil once the server listens.
func (s *artifactServer) serving(*http.Request) error {
	if !s.listening.Load() {
		return errors.New("the artifact server is not listening yet")
	}
	return nil
}
