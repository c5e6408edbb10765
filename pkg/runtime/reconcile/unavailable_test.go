package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestAPIUnavailable says per case whether it means "API unavailable"
// and which check recognises it: a typed one, or the text match kept for
// errors Helm flattens into strings.
func TestAPIUnavailable(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	cm := schema.GroupResource{Resource: "configmaps"}
	u := "https://127.0.0.1:6443/api/v1/namespaces/a/configmaps/x"
	for _, tc := range []struct {
		name string
		err  error
		want recognition
	}{
		{"nil", nil, notUnavailable},
		{"dial refused", dial, byType},
		{"wrapped dial refused", fmt.Errorf("patching ConfigMap a: %w", dial), byType},
		{"reset", &net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}}, byType},
		{"broken pipe", &net.OpError{Op: "write", Net: "tcp", Err: &os.SyscallError{Syscall: "write", Err: syscall.EPIPE}}, byType},
		{"closed connection", &url.Error{Op: "Get", URL: u, Err: fmt.Errorf("read: %w", net.ErrClosed)}, byType},
		{"response cut short", &url.Error{Op: "Get", URL: u, Err: io.ErrUnexpectedEOF}, byType},
		{"EOF of the request", &url.Error{Op: "Get", URL: u, Err: io.EOF}, byType},
		{"dial timeout", &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}, byType},
		{"service unavailable", apierrors.NewServiceUnavailable("starting"), byType},
		{"server timeout", apierrors.NewServerTimeout(cm, "get", 1), byType},
		{"request timeout", apierrors.NewTimeoutError("request did not complete within the requested timeout", 1), byType},
		{"too many requests", apierrors.NewTooManyRequests("slow down", 1), byType},
		{"flattened refused", errors.New(`cannot patch "rel-config" with kind ConfigMap: Patch "` + u + `": dial tcp 127.0.0.1:6443: connect: connection refused`), byText},
		{"flattened i/o timeout", errors.New(`Get "` + u + `": dial tcp 127.0.0.1:6443: i/o timeout`), byText},
		{"flattened etcd", errors.New(`upgrade failed: etcdserver: leader changed`), byText},
		{"caller's deadline", &url.Error{Op: "Get", URL: u, Err: context.DeadlineExceeded}, notUnavailable},
		{"bare deadline", fmt.Errorf("waiting for Deployment a/b: %w", context.DeadlineExceeded), notUnavailable},
		{"EOF inside a decoder", fmt.Errorf("decoding values: %w", io.EOF), notUnavailable},
		{"not found", apierrors.NewNotFound(cm, "a"), notUnavailable},
		{"forbidden", apierrors.NewForbidden(cm, "a", errors.New("no RBAC")), notUnavailable},
		{"invalid", apierrors.NewBadRequest("spec.replicas: must be a number"), notUnavailable},
		{"template error", errors.New(`template: app/templates/cm.yaml:4:3: executing "x": nil pointer`), notUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := recognise(tc.err); got != tc.want {
				t.Errorf("recognise(%v) = %v, want %v", tc.err, got, tc.want)
			}
			if got := APIUnavailable(tc.err); got != (tc.want != notUnavailable) {
				t.Errorf("APIUnavailable(%v) = %v", tc.err, got)
			}
		})
	}
}

// TestAPIUnavailableClientTimeout: a real http.Client.Timeout (what
// rest.Config.Timeout sets) is recognised by type; the same server cut
// off by the caller's own context deadline is not unavailability.
func TestAPIUnavailableClientTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	_, err := (&http.Client{Timeout: 50 * time.Millisecond}).Get(srv.URL)
	if err == nil {
		t.Fatal("a request to a server that never answers succeeded")
	}
	if got := recognise(err); got != byType {
		t.Errorf("client timeout %v: recognised %v, want %v", err, got, byType)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	_, err = http.DefaultClient.Do(req)
	if err == nil {
		t.Fatal("a request to a server that never answers succeeded")
	}
	if got := recognise(err); got != notUnavailable {
		t.Errorf("caller's deadline %v: recognised %v, want %v", err, got, notUnavailable)
	}
}
