// Package redact removes credentials that travel inside URLs (userinfo,
// and query parameters such as ?token=) from any text before it leaves a
// controller: log lines, Kubernetes events, forwarded notifications,
// status conditions and error messages. Go's own errors (a *url.Error
// from net/http, go-git's, the AWS SDK's) print the whole URL they were
// given, so text from a client library is never safe as it is.
package redact

import (
	"errors"
	"regexp"
	"strings"
)

// Mask stands where a query parameter's secret value was.
const Mask = "***"

var (
	// userinfo is "scheme://<anything up to the last @ of the authority>@".
	// The greedy class backtracks to the last @, as url.Parse reads a
	// password holding an unescaped @.
	userinfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.\-]*://)[^/?#\s"'<>]*@`)
	// secretQuery is a query parameter whose name says it carries a
	// credential (token, access_token, password, X-Amz-Signature,
	// X-Amz-Credential, sig, api_key, ...).
	secretQuery = regexp.MustCompile(`(?i)([?&;][a-z0-9_.\-]*(?:token|passw(?:or)?d|secret|signature|sig|credential|key|auth)[a-z0-9_.\-]*=)[^&#\s"'<>]*`)
)

// String returns s with the userinfo of every URL in it removed and the
// values of credential-looking query parameters masked.
func String(s string) string {
	// Most log lines and messages hold no URL: skip the expressions then.
	if strings.Contains(s, "://") {
		s = userinfo.ReplaceAllString(s, "$1")
	}
	if strings.ContainsAny(s, "?&;") {
		s = secretQuery.ReplaceAllString(s, "${1}"+Mask)
	}
	return s
}

// Error returns err with its message redacted by String; errors.Is and
// errors.As still see err and what it wraps. It returns nil for nil and
// err itself when nothing in its message needed removing.
func Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := String(msg)
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// IsRedacted reports whether err came from Error with something removed.
func IsRedacted(err error) bool {
	var r *redactedError
	return errors.As(err, &r)
}
