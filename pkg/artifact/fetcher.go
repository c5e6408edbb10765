package artifact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"gotk.dev/pkg/artifact/tarball"
)

// Environment variables that, as in Flux, redirect artifact downloads to a
// local address during development (e.g. "localhost:9090"). Controllers
// copy one into Fetcher.HostOverride.
const (
	EnvSourceControllerLocalhost = "SOURCE_CONTROLLER_LOCALHOST"
	EnvSourceWatcherLocalhost    = "SOURCE_WATCHER_LOCALHOST"
)

// Fetcher defaults, used for zero-valued fields.
const (
	DefaultFetchTimeout     = time.Minute
	DefaultMaxDownloadBytes = int64(100 << 20)
	DefaultMinBackoff       = 500 * time.Millisecond
	DefaultMaxBackoff       = 30 * time.Second
)

var (
	// ErrNotFound is wrapped when the server answers 404: the artifact is
	// gone (usually replaced by a newer one); not retried.
	ErrNotFound = errors.New("artifact not found")
	// ErrDigestMismatch is wrapped when the download does not match the
	// expected digest; nothing is extracted.
	ErrDigestMismatch = errors.New("digest mismatch")
)

// FetchError reports which step of Fetch failed: "digest" (the expected
// digest is invalid), "download", "verify" or "untar".
type FetchError struct {
	Step string
	URL  string
	Err  error
}

// Error implements error: `fetch artifact http://…: download: …`.
func (e *FetchError) Error() string {
	return fmt.Sprintf("fetch artifact %s: %s: %v", e.URL, e.Step, e.Err)
}

// Unwrap returns the cause.
func (e *FetchError) Unwrap() error { return e.Err }

// Fetcher downloads artifacts over HTTP, verifies them and extracts them.
type Fetcher struct {
	// Retries is how many times a failed download is retried (connection
	// errors, timeouts, 5xx and 429; never other 4xx).
	Retries int
	// Timeout bounds each attempt (0: DefaultFetchTimeout).
	Timeout time.Duration
	// MaxDownloadBytes bounds the compressed download (0: 100 MiB).
	MaxDownloadBytes int64
	// Limits bounds the extraction (zero fields: tarball defaults).
	Limits tarball.Limits
	// Client is the HTTP client (nil: a plain client; per-attempt
	// timeouts come from Timeout).
	Client *http.Client
	// HostOverride, when set, replaces the host (or "scheme://host") of
	// every URL, e.g. from os.Getenv(EnvSourceControllerLocalhost).
	HostOverride string
	// MinBackoff and MaxBackoff bound the exponential delay between
	// attempts (0: 500ms and 30s).
	MinBackoff, MaxBackoff time.Duration
	// TempDir holds downloads until verified ("" : os.TempDir()).
	TempDir string
}

// NewFetcher returns a Fetcher with the given retries, per-attempt timeout
// and download cap, and default extraction limits.
func NewFetcher(retries int, timeout time.Duration, maxDownloadBytes int64) *Fetcher {
	return &Fetcher{Retries: retries, Timeout: timeout, MaxDownloadBytes: maxDownloadBytes, Limits: tarball.DefaultLimits()}
}

// Fetch downloads rawURL, verifies it against digest ("sha256:<hex>",
// "sha384:…" or "sha512:…") and only then extracts it into dir with
// tarball.Untar under f.Limits. Errors are *FetchError naming the step.
func (f *Fetcher) Fetch(ctx context.Context, rawURL, digest, dir string) error {
	u, err := f.rewriteURL(rawURL)
	if err != nil {
		return &FetchError{Step: "download", URL: rawURL, Err: err}
	}
	shown := u.Redacted()
	expected, err := ParseDigest(digest)
	if err != nil {
		return &FetchError{Step: "digest", URL: shown, Err: err}
	}

	tmp, err := os.CreateTemp(f.TempDir, "gotk-artifact-*.tar.gz")
	if err != nil {
		return &FetchError{Step: "download", URL: shown, Err: err}
	}
	defer func() {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}()

	got, err := f.download(ctx, u.String(), tmp, expected.algo)
	if err != nil {
		return &FetchError{Step: "download", URL: shown, Err: err}
	}
	if !strings.EqualFold(got, digest) {
		return &FetchError{Step: "verify", URL: shown,
			Err: fmt.Errorf("%w: expected %s, got %s", ErrDigestMismatch, digest, got)}
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return &FetchError{Step: "untar", URL: shown, Err: err}
	}
	if err := tarball.Untar(tmp, dir, f.Limits); err != nil {
		return &FetchError{Step: "untar", URL: shown, Err: err}
	}
	return nil
}

// download runs attempts with exponential backoff and returns the digest
// of the body, which is left in out.
func (f *Fetcher) download(ctx context.Context, u string, out *os.File, algo string) (string, error) {
	backoff := valueOr(f.MinBackoff, DefaultMinBackoff)
	maxBackoff := valueOr(f.MaxBackoff, DefaultMaxBackoff)
	retries := max(f.Retries, 0)
	var lastErr error
	for attempt := 0; attempt <= retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return "", fmt.Errorf("%w (after %d attempts, last error: %v)", ctx.Err(), attempt, lastErr)
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxBackoff)
		}
		got, retry, err := f.attempt(ctx, u, out, algo)
		if err == nil {
			return got, nil
		}
		lastErr = err
		if !retry || ctx.Err() != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("giving up after %d attempts: %w", retries+1, lastErr)
}

// attempt performs one GET into out and reports whether a failure is
// worth retrying.
func (f *Fetcher) attempt(ctx context.Context, u string, out *os.File, algo string) (digest string, retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, valueOr(f.Timeout, DefaultFetchTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", false, err
	}
	client := f.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", true, err
	}
	defer resp.Body.Close()
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
	case code == http.StatusNotFound:
		return "", false, fmt.Errorf("%w: server returned %s", ErrNotFound, resp.Status)
	case code >= 500 || code == http.StatusTooManyRequests:
		return "", true, fmt.Errorf("server returned %s", resp.Status)
	default:
		return "", false, fmt.Errorf("server returned %s", resp.Status)
	}

	limit := f.MaxDownloadBytes
	if limit <= 0 {
		limit = DefaultMaxDownloadBytes
	}
	if resp.ContentLength > limit {
		return "", false, fmt.Errorf("artifact size %d exceeds the download limit of %d bytes", resp.ContentLength, limit)
	}
	if err := out.Truncate(0); err != nil {
		return "", false, err
	}
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		return "", false, err
	}
	d, err := NewDigester(algo)
	if err != nil {
		return "", false, err
	}
	n, err := io.Copy(io.MultiWriter(out, d), io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return "", true, fmt.Errorf("read body: %w", err)
	}
	if n > limit {
		return "", false, fmt.Errorf("artifact exceeds the download limit of %d bytes", limit)
	}
	return d.Digest(), false, nil
}

// rewriteURL parses rawURL and applies HostOverride.
func (f *Fetcher) rewriteURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("unsupported URL scheme %q", u.Scheme)
	}
	if o := f.HostOverride; o != "" {
		if scheme, host, ok := strings.Cut(o, "://"); ok {
			u.Scheme, u.Host = scheme, strings.TrimSuffix(host, "/")
		} else {
			u.Host = o
		}
	}
	return u, nil
}

func valueOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
