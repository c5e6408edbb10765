package reconcile

import (
	"errors"
	"fmt"
	"time"

	"gotk.dev/pkg/runtime/redact"
)

// Class says how a failed step is retried.
type Class int

const (
	// Transient failures are retried with exponential backoff.
	Transient Class = iota
	// Waiting failures wait for something outside the object (a dependency,
	// an artifact) and are retried after a fixed delay without backoff.
	Waiting
	// Stalling failures need a human (invalid spec): no retry until the
	// object changes.
	Stalling
)

// String names the class for logs.
func (k Class) String() string {
	switch k {
	case Waiting:
		return "waiting"
	case Stalling:
		return "stalling"
	default:
		return "transient"
	}
}

// Error is a failed step: the condition reason it reports and how to retry.
type Error struct {
	// Class says how the skeleton retries.
	Class Class
	// Reason is the condition reason (CamelCase) shown on Ready.
	Reason string
	// Err is the cause; its message becomes the Ready message.
	Err error
	// RequeueAfter is the delay for Waiting errors.
	RequeueAfter time.Duration
}

// Error returns the cause's message without credentials in URLs: it
// becomes a condition message, an event and a log line.
func (e *Error) Error() string { return redact.String(e.Err.Error()) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Stall returns a Stalling error: the spec is invalid and retrying cannot help.
func Stall(reason, format string, args ...any) error {
	return &Error{Class: Stalling, Reason: reason, Err: fmt.Errorf(format, args...)}
}

// Wait returns a Waiting error retried after the given delay.
func Wait(after time.Duration, reason, format string, args ...any) error {
	return &Error{Class: Waiting, Reason: reason, Err: fmt.Errorf(format, args...), RequeueAfter: after}
}

// Retry returns a Transient error retried with backoff.
func Retry(reason, format string, args ...any) error {
	return &Error{Class: Transient, Reason: reason, Err: fmt.Errorf(format, args...)}
}

// Classify returns the typed error for err; an untyped error is Transient
// with the given default reason.
func Classify(err error, defaultReason string) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Class: Transient, Reason: defaultReason, Err: err}
}
