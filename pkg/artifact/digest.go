// Package artifact stores, serves and fetches gotk (Flux-compatible) source
// artifacts: gzip tarballs laid out as
// <base>/<kind-lowercase>/<namespace>/<name>/<file>, addressed by
// meta.Artifact (path, URL, digest "sha256:<hex>", size).
//
// Storage writes artifacts atomically and garbage-collects old ones, Server
// exposes them over HTTP, and Fetcher downloads one, verifies its digest and
// extracts it safely (see the tarball and securepath subpackages).
package artifact

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
)

// Supported digest algorithms, as written before the colon of a digest.
const (
	SHA256 = "sha256"
	SHA384 = "sha384"
	SHA512 = "sha512"
)

// DefaultDigestAlgorithm is used when Storage.DigestAlgorithm is empty.
const DefaultDigestAlgorithm = SHA256

// Digester hashes bytes written to it and formats "<algorithm>:<hex>".
type Digester struct {
	algo string
	h    hash.Hash
}

// NewDigester returns a Digester for sha256, sha384 or sha512.
func NewDigester(algo string) (*Digester, error) {
	var h hash.Hash
	switch algo {
	case SHA256:
		h = sha256.New()
	case SHA384:
		h = sha512.New384()
	case SHA512:
		h = sha512.New()
	default:
		return nil, fmt.Errorf("unsupported digest algorithm %q (want %s, %s or %s)", algo, SHA256, SHA384, SHA512)
	}
	return &Digester{algo: algo, h: h}, nil
}

// Write implements io.Writer.
func (d *Digester) Write(p []byte) (int, error) { return d.h.Write(p) }

// Digest returns "<algorithm>:<hex>" of everything written so far.
func (d *Digester) Digest() string {
	return d.algo + ":" + hex.EncodeToString(d.h.Sum(nil))
}

// ParseDigest splits "<algorithm>:<hex>" and validates the algorithm and
// the hex length. It returns a Digester ready to hash the content.
func ParseDigest(digest string) (*Digester, error) {
	algo, encoded, ok := strings.Cut(digest, ":")
	if !ok || algo == "" || encoded == "" {
		return nil, fmt.Errorf("invalid digest %q: want <algorithm>:<hex>", digest)
	}
	d, err := NewDigester(algo)
	if err != nil {
		return nil, fmt.Errorf("invalid digest %q: %w", digest, err)
	}
	if b, err := hex.DecodeString(encoded); err != nil || len(b) != d.h.Size() {
		return nil, fmt.Errorf("invalid digest %q: want %d hex characters for %s", digest, 2*d.h.Size(), algo)
	}
	return d, nil
}

// DigestFile returns the digest of the file at path with the given algorithm.
func DigestFile(path, algo string) (string, int64, error) {
	d, err := NewDigester(algo)
	if err != nil {
		return "", 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	n, err := io.Copy(d, f)
	if err != nil {
		return "", n, err
	}
	return d.Digest(), n, nil
}
