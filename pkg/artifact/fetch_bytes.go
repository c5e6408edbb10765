package artifact

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
)

// FetchBytes downloads rawURL under the same retries and limits as Fetch,
// verifies it against digest and returns the verified bytes without
// extracting them (for artifacts used as one blob, such as a packaged Helm
// chart). Errors are *FetchError naming the step.
func (f *Fetcher) FetchBytes(ctx context.Context, rawURL, digest string) ([]byte, error) {
	u, err := f.rewriteURL(rawURL)
	if err != nil {
		return nil, &FetchError{Step: "download", URL: rawURL, Err: err}
	}
	shown := u.Redacted()
	expected, err := ParseDigest(digest)
	if err != nil {
		return nil, &FetchError{Step: "digest", URL: shown, Err: err}
	}
	tmp, err := os.CreateTemp(f.TempDir, "gotk-artifact-*")
	if err != nil {
		return nil, &FetchError{Step: "download", URL: shown, Err: err}
	}
	defer func() {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}()
	got, err := f.download(ctx, u.String(), tmp, expected.algo)
	if err != nil {
		return nil, &FetchError{Step: "download", URL: shown, Err: err}
	}
	if !strings.EqualFold(got, digest) {
		return nil, &FetchError{Step: "verify", URL: shown,
			Err: fmt.Errorf("%w: expected %s, got %s", ErrDigestMismatch, digest, got)}
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, &FetchError{Step: "download", URL: shown, Err: err}
	}
	data, err := io.ReadAll(tmp)
	if err != nil {
		return nil, &FetchError{Step: "download", URL: shown, Err: err}
	}
	return data, nil
}
