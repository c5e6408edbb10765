package notifier

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Retry bounds delivery attempts: up to Attempts tries, waiting Min, 2×Min,
// … up to Max between them. Only timeouts, connection errors, 429 and 5xx
// are retried.
type Retry struct {
	Attempts int
	Min, Max time.Duration
}

// DefaultRetry gives a flaky endpoint about three seconds to recover.
var DefaultRetry = Retry{Attempts: 4, Min: 250 * time.Millisecond, Max: 2 * time.Second}

// StatusError is a non-2xx answer.
type StatusError struct {
	// Code is the HTTP status code.
	Code int
}

// Error names the status; the response body is not echoed (it may quote the request).
func (e *StatusError) Error() string {
	return fmt.Sprintf("the service answered %d %s", e.Code, http.StatusText(e.Code))
}

func (e *StatusError) retryable() bool {
	return e.Code == http.StatusTooManyRequests || e.Code >= 500
}

// client posts requests with bounded retries.
type client struct {
	http  *http.Client
	retry Retry
	hdrs  map[string]string
}

func newHTTP(cfg Config) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	if cfg.Proxy != nil {
		tr.Proxy = http.ProxyURL(cfg.Proxy)
	}
	if cfg.TLS != nil {
		tr.TLSClientConfig = cfg.TLS
	}
	tr.MaxIdleConnsPerHost = 16
	return &client{
		http:  &http.Client{Transport: tr, Timeout: cfg.Timeout, CheckRedirect: noRedirect},
		retry: cfg.Retry,
		hdrs:  cfg.Headers,
	}
}

// noRedirect stops redirects: following one would resend credentials to a
// place the Provider does not name.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// request is one call: method, URL, JSON body and headers.
type request struct {
	method  string
	url     string
	body    []byte
	headers map[string]string
	// check inspects a 2xx response body (e.g. Slack's {"ok":false}).
	check func(body []byte) error
}

// postJSON marshals v and POSTs it.
func (c *client) postJSON(ctx context.Context, u string, v any, headers map[string]string) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding the payload: %w", err)
	}
	return c.do(ctx, request{method: http.MethodPost, url: u, body: body, headers: headers})
}

// do sends req, retrying transient failures with backoff, and returns the
// last error stripped of the URL (which may hold a token).
func (c *client) do(ctx context.Context, req request) error {
	wait := c.retry.Min
	var err error
	for attempt := 1; ; attempt++ {
		err = c.once(ctx, req)
		if err == nil || !retryable(err) || attempt >= c.retry.Attempts {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (after %d attempts)", err, attempt)
		case <-time.After(wait):
		}
		wait = min(2*wait, c.retry.Max)
	}
	return err
}

func (c *client) once(ctx context.Context, req request) error {
	r, err := http.NewRequestWithContext(ctx, req.method, req.url, bytes.NewReader(req.body))
	if err != nil {
		return errors.New("building the request failed: invalid address")
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "gotk-notification-controller")
	for k, v := range c.hdrs {
		r.Header.Set(k, v)
	}
	for k, v := range req.headers {
		r.Header.Set(k, v)
	}
	resp, err := c.http.Do(r)
	if err != nil {
		return redact(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &StatusError{Code: resp.StatusCode}
	}
	if req.check != nil {
		return req.check(body)
	}
	return nil
}

// redact drops the URL from transport errors: webhook URLs carry secrets
// in their path or query.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		host := ""
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Host
		}
		return &transportError{op: ue.Op, host: host, err: ue.Err}
	}
	return err
}

type transportError struct {
	op, host string
	err      error
}

func (e *transportError) Error() string { return fmt.Sprintf("%s to %s: %v", e.op, e.host, e.err) }
func (e *transportError) Unwrap() error { return e.err }

func retryable(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.retryable()
	}
	var te *transportError
	if errors.As(err, &te) {
		var ne net.Error
		if errors.As(te.err, &ne) || errors.Is(te.err, context.DeadlineExceeded) {
			return true
		}
		var oe *net.OpError
		return errors.As(te.err, &oe) || errors.Is(te.err, io.EOF) || errors.Is(te.err, io.ErrUnexpectedEOF)
	}
	return false
}
