package reconcile

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// unavailableTexts are what availability errors read like once a library
// has flattened them into a message (Helm's kube client joins the errors
// of many objects into one string): no type is left to check.
var unavailableTexts = []string{
	"connection refused",
	"connection reset by peer",
	"broken pipe",
	"use of closed network connection",
	"http: can't write http request on broken connection",
	"http2: client connection lost",
	"http2: server sent goaway",
	"i/o timeout",
	"tls handshake timeout",
	"unexpected eof",
	"the server is currently unable to handle the request",
	"etcdserver: request timed out",
	"etcdserver: leader changed",
}

// recognition says which check found an error to mean "API unavailable".
type recognition int

const (
	// notUnavailable: the API server answered, or the error is not about it.
	notUnavailable recognition = iota
	// byType: a typed check (status reason, errno, net.Error, sentinel).
	byType
	// byText: only the flattened message matched unavailableTexts.
	byText
)

// String names the check, for test failures and logs.
func (r recognition) String() string {
	return [...]string{"not unavailable", "by type", "by text"}[r]
}

// APIUnavailable reports whether err says the Kubernetes API server could
// not be reached or could not serve the request for now (restarting,
// overloaded, too slow) rather than refusing it. A step that failed this
// way has learnt nothing about its input: it retries without counting a
// failure.
func APIUnavailable(err error) bool {
	return recognise(err) != notUnavailable
}

// recognise runs the typed checks first; the text match is only for
// errors a library turned into plain strings.
func recognise(err error) recognition {
	switch {
	case err == nil:
		return notUnavailable
	case unavailableStatus(err), unavailableConnection(err), clientTimeout(err):
		return byType
	}
	text := strings.ToLower(err.Error())
	for _, s := range unavailableTexts {
		if strings.Contains(text, s) {
			return byText
		}
	}
	return notUnavailable
}

// unavailableStatus: the API server answered that it cannot serve now
// (503, 429, or a timeout of its own or of the request it was given).
func unavailableStatus(err error) bool {
	return apierrors.IsServiceUnavailable(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err)
}

// unavailableConnection: the connection was refused, reset, closed or cut
// off in the middle of a response.
func unavailableConnection(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	// A bare EOF is only the connection's end when it is the request's
	// own error, not an EOF some decoder wrapped.
	var ue *url.Error
	return err == io.EOF || (errors.As(err, &ue) && ue.Err == io.EOF)
}

// clientTimeout: a request timed out on the client side (dial, TLS
// handshake, http.Client.Timeout from rest.Config.Timeout, waiting for
// response headers). A request cut off by the caller's own context
// deadline is not one: that deadline (a Helm wait, a step's timeout) is
// the caller's verdict, not a sign of the API server.
func clientTimeout(err error) bool {
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		return false
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if e == context.DeadlineExceeded {
			return false
		}
	}
	return true
}
