// Package helm fetches Helm repository indexes and charts over HTTP(S)
// with credentials, TLS and size limits, and caches parsed indexes.
package helm

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"gotk.dev/pkg/runtime/redact"
)

// ErrTooLarge is returned when a download passes its size limit.
var ErrTooLarge = errors.New("exceeds the size limit")

// HTTPError is a non-2xx answer.
type HTTPError struct {
	URL    string
	Status int
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("GET %s: %s", e.URL, http.StatusText(e.Status))
}

// Getter downloads from one Helm repository.
type Getter struct {
	// Username and Password are basic-auth credentials.
	Username, Password string
	// PassCredentials sends them to hosts other than the repository's too
	// (charts hosted elsewhere), as Flux's passCredentials.
	PassCredentials bool
	// RepoURL is the repository's address; credentials go only to its host
	// unless PassCredentials.
	RepoURL string
	// TLS is the client TLS configuration (nil: system roots).
	TLS *tls.Config
	// Timeout bounds each request.
	Timeout time.Duration
}

// Get downloads u with at most maxBytes (0: no limit).
func (g *Getter) Get(ctx context.Context, u string, maxBytes int64) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := g.Download(ctx, u, maxBytes, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Download copies u into w with at most maxBytes (0: no limit) and
// returns the number of bytes written.
func (g *Getter) Download(ctx context.Context, u string, maxBytes int64, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	if g.Username != "" && (g.PassCredentials || sameHost(u, g.RepoURL)) {
		req.SetBasicAuth(g.Username, g.Password)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// The transport serves this one request: a kept-alive connection would
	// only hold two goroutines and buffers until the idle timeout, per
	// chart pulled.
	tr.DisableKeepAlives = true
	if g.TLS != nil {
		tr.TLSClientConfig = g.TLS
	}
	timeout := g.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	resp, err := (&http.Client{Transport: tr, Timeout: timeout}).Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", redact.String(u), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return 0, &HTTPError{URL: redact.String(u), Status: resp.StatusCode}
	}
	var body io.Reader = resp.Body
	if maxBytes > 0 {
		if resp.ContentLength > maxBytes {
			return 0, fmt.Errorf("%s: %d bytes %w of %d bytes", redact.String(u), resp.ContentLength, ErrTooLarge, maxBytes)
		}
		body = io.LimitReader(resp.Body, maxBytes+1)
	}
	n, err := io.Copy(w, body)
	if err != nil {
		return n, fmt.Errorf("GET %s: %w", redact.String(u), err)
	}
	if maxBytes > 0 && n > maxBytes {
		return n, fmt.Errorf("%s %w of %d bytes", redact.String(u), ErrTooLarge, maxBytes)
	}
	return n, nil
}

// IsAuthError reports a 401/403 answer.
func IsAuthError(err error) bool {
	var he *HTTPError
	return errors.As(err, &he) && (he.Status == http.StatusUnauthorized || he.Status == http.StatusForbidden)
}

func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Host == ub.Host
}
