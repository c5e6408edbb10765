package reconcile

import (
	"errors"
	"strings"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// unavailableTexts are what availability errors read like once a library
// has flattened them into a message (Helm's kube client joins the errors
// of many objects into one string).
var unavailableTexts = []string{
	"connection refused",
	"connection reset by peer",
	"broken pipe",
	"http2: client connection lost",
	"http2: server sent goaway",
	"i/o timeout",
	"tls handshake timeout",
	"unexpected eof",
	"the server is currently unable to handle the request",
	"etcdserver: request timed out",
	"etcdserver: leader changed",
}

// APIUnavailable reports whether err says the Kubernetes API server could
// not be reached or could not serve the request for now (restarting,
// overloaded) rather than refusing it. A step that failed this way has
// learnt nothing about its input: it retries without counting a failure.
func APIUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if apierrors.IsServiceUnavailable(err) || apierrors.IsServerTimeout(err) || apierrors.IsTooManyRequests(err) ||
		utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	text := strings.ToLower(err.Error())
	for _, s := range unavailableTexts {
		if strings.Contains(text, s) {
			return true
		}
	}
	return false
}
