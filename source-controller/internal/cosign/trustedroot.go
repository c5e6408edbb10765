package cosign

import (
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"
)

// tufTimeout bounds one download from the public Sigstore TUF repository.
const tufTimeout = 30 * time.Second

// TrustedRootKey is the Secret key (and file name) of a Sigstore trusted root.
const TrustedRootKey = "trusted_root.json"

// ParseTrustedRoot reads a Sigstore trusted_root.json: the Fulcio CAs,
// Rekor logs, CT logs and timestamp authorities keyless signatures are
// verified against.
func ParseTrustedRoot(data []byte) (root.TrustedMaterial, error) {
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("not a Sigstore trusted root: %v", err)
	}
	return tr, nil
}

// defaultRoot is the trusted root of objects that name none.
var defaultRoot struct {
	sync.Mutex
	path string
	tm   root.TrustedMaterial
}

// SetDefaultTrustedRoot makes the trusted_root.json at path the trusted
// root of keyless verifications whose object names none (a private
// Sigstore instance). An empty path means the public Sigstore instance,
// whose trusted root is fetched through its TUF repository on first use.
func SetDefaultTrustedRoot(path string) {
	defaultRoot.Lock()
	defer defaultRoot.Unlock()
	defaultRoot.path, defaultRoot.tm = path, nil
}

// DefaultTrustedRoot is the trusted root SetDefaultTrustedRoot chose,
// read once; a failed read or fetch is tried again on the next call.
func DefaultTrustedRoot() (root.TrustedMaterial, error) {
	defaultRoot.Lock()
	defer defaultRoot.Unlock()
	if defaultRoot.tm != nil {
		return defaultRoot.tm, nil
	}
	if path := defaultRoot.path; path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading the Sigstore trusted root: %v", err)
		}
		tm, err := ParseTrustedRoot(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		defaultRoot.tm = tm
		return tm, nil
	}
	// Kept in memory (the root file system may be read-only) and
	// refreshed by the library once a day; each download is bounded in
	// time, as the lock is held meanwhile.
	opts := tuf.DefaultOptions().WithDisableLocalCache()
	if f, ok := opts.Fetcher.(*fetcher.DefaultFetcher); ok {
		f.SetHTTPClient(&http.Client{Timeout: tufTimeout})
	}
	tm, err := root.NewLiveTrustedRoot(opts)
	if err != nil {
		return nil, fmt.Errorf("fetching the public Sigstore trusted root: %v", err)
	}
	defaultRoot.tm = tm
	return tm, nil
}
