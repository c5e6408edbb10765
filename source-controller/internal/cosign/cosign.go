// Package cosign verifies cosign signatures of OCI artifacts through
// sigstore's own verifier (github.com/sigstore/sigstore-go).
//
// It reads the signatures cosign stores next to an artifact: the image at
// tag sha256-<hex>.sig whose simple-signing layers carry a payload naming
// the artifact's manifest digest, the payload's signature in an
// annotation and, for keyless signatures, the signing certificate, the
// Rekor entry (with its signed entry timestamp) and RFC 3161 timestamps
// in annotations.
//
// cosign v3 stores a Sigstore bundle instead, as an OCI artifact whose
// subject is the artifact: a DSSE envelope of an in-toto statement whose
// subject is the manifest digest; those are read too.
//
// A signature verifies either with one of a Secret's public keys (as
// cosign --key: no transparency log is required), or keyless against a
// Sigstore trusted root: a Fulcio certificate chain, checked at the time
// a transparency log or a timestamp authority observed the signature, and
// an OIDC identity matching the policy.
package cosign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/sigstore/sigstore-go/pkg/root"

	"gotk.dev/pkg/oci"
)

// The cosign signature format.
const (
	// SimpleSigningMediaType is the media type of a signature layer.
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// SignatureAnnotation holds the base64 signature of the layer's payload.
	SignatureAnnotation = "dev.cosignproject.cosign/signature"
	// CertificateAnnotation holds the PEM signing certificate of a keyless signature.
	CertificateAnnotation = "dev.sigstore.cosign/certificate"
	// ChainAnnotation holds the PEM chain of the signing certificate.
	ChainAnnotation = "dev.sigstore.cosign/chain"
	// BundleAnnotation holds the Rekor entry and its signed entry timestamp (JSON).
	BundleAnnotation = "dev.sigstore.cosign/bundle"
	// TimestampAnnotation holds an RFC 3161 signed timestamp of the signature (JSON).
	TimestampAnnotation = "dev.sigstore.cosign/rfc3161timestamp"
	// PayloadType is the critical.type of a container image signature.
	PayloadType = "cosign container image signature"
	// maxPayloadBytes bounds a signature payload read from a registry.
	maxPayloadBytes = 1 << 20
)

// ErrNoSignature means the artifact has no signature image.
var ErrNoSignature = errors.New("no signature found")

// Policy says which signatures are trusted.
type Policy struct {
	// Keys verify key-pair signatures. With keys, certificates and
	// transparency-log entries are not consulted, as with cosign --key.
	Keys []Key
	// TrustedRoot verifies keyless signatures when there are no Keys:
	// Fulcio CAs, Rekor logs, timestamp authorities, and CT logs (whose
	// SCTs are then required in the certificate).
	TrustedRoot root.TrustedMaterial
	// Identities restrict keyless signatures to certificates whose OIDC
	// issuer and subject match one entry; none allows any identity.
	Identities []Identity
}

// Identity is a pair of Go regular expressions for the OIDC issuer and
// subject of a keyless signing certificate.
type Identity struct {
	Issuer, Subject string
}

// Validate reports a policy that cannot verify anything: no key and no
// trusted root, or an identity that is not a regular expression.
func (p Policy) Validate() error {
	if len(p.Keys) == 0 && p.TrustedRoot == nil {
		return errors.New("no public key and no trusted root")
	}
	return CheckIdentities(p.Identities)
}

// CheckIdentities reports an identity that is not a pair of regular
// expressions, naming it as in matchOIDCIdentity.
func CheckIdentities(ids []Identity) error {
	for i, id := range ids {
		if _, err := regexp.Compile(id.Issuer); err != nil {
			return fmt.Errorf("matchOIDCIdentity[%d].issuer: %v", i, err)
		}
		if _, err := regexp.Compile(id.Subject); err != nil {
			return fmt.Errorf("matchOIDCIdentity[%d].subject: %v", i, err)
		}
	}
	return nil
}

// Result says what a signature verified with.
type Result struct {
	// Key is the name of the key that verified a key-pair signature.
	Key string
	// Issuer and Subject are the identity of a keyless signature's certificate.
	Issuer, Subject string
}

// String names the key or the identity, for condition messages.
func (r Result) String() string {
	if r.Key != "" {
		return fmt.Sprintf("key '%s'", r.Key)
	}
	return fmt.Sprintf("identity '%s' issued by '%s'", r.Subject, r.Issuer)
}

// SignatureTag is the tag cosign stores the signatures of digest under.
func SignatureTag(digest string) string {
	return strings.Replace(digest, ":", "-", 1) + ".sig"
}

// Verify checks that a signature of the manifest digest in repo verifies
// under p and names that digest: one of the simple-signing layers at its
// signature tag, else one of the Sigstore bundles referring to it.
func Verify(ctx context.Context, repo name.Repository, digest string, p Policy, o oci.Options) (Result, error) {
	if err := p.Validate(); err != nil {
		return Result{}, err
	}
	tag := SignatureTag(digest)
	sigs, err := readSignatures(ctx, repo.Tag(tag), o)
	var te *transport.Error
	if err != nil && !(errors.As(err, &te) && te.StatusCode == http.StatusNotFound) {
		return Result{}, err
	}
	var problems []string
	for _, s := range sigs {
		r, err := s.verify(p, digest)
		if err == nil {
			return r, nil
		}
		problems = append(problems, err.Error())
	}
	bundles, more, err := readBundles(ctx, repo, digest, o)
	if err != nil {
		return Result{}, err
	}
	for _, b := range bundles {
		r, err := b.verify(p, digest)
		if err == nil {
			return r, nil
		}
		problems = append(problems, fmt.Sprintf("Sigstore bundle %s: %v", b.manifest, err))
	}
	if more {
		problems = append(problems, fmt.Sprintf("more than %d Sigstore bundles refer to it: the others were not read", maxBundles))
	}
	switch {
	case len(problems) > 0 && len(sigs) > 0:
		return Result{}, fmt.Errorf("no valid signature for '%s' in %s:%s: %s", digest, repo.Name(), tag, strings.Join(problems, "; "))
	case len(problems) > 0:
		return Result{}, fmt.Errorf("no valid signature for '%s' in %s: %s", digest, repo.Name(), strings.Join(problems, "; "))
	case te != nil:
		return Result{}, fmt.Errorf("%w for '%s': no tag '%s' in %s and no Sigstore bundle refers to it", ErrNoSignature, digest, tag, repo.Name())
	default:
		return Result{}, fmt.Errorf("%w for '%s': %s:%s has no %s layer and no Sigstore bundle refers to it", ErrNoSignature, digest, repo.Name(), tag, SimpleSigningMediaType)
	}
}

// payload is cosign's simple-signing payload.
type payload struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// NewPayload is the simple-signing payload cosign signs for digest, an
// artifact of repo.
func NewPayload(repo name.Repository, digest string) ([]byte, error) {
	var p payload
	p.Critical.Identity.DockerReference = repo.Name()
	p.Critical.Image.DockerManifestDigest = digest
	p.Critical.Type = PayloadType
	return json.Marshal(p)
}

// checkPayload checks that a verified payload is a simple-signing
// payload for digest; by names who signed it, for messages.
func checkPayload(data []byte, digest string, by string) error {
	var p payload
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("payload signed by %s is not a simple-signing payload: %v", by, err)
	}
	if p.Critical.Type != PayloadType {
		return fmt.Errorf("payload signed by %s has type %q, want %q", by, p.Critical.Type, PayloadType)
	}
	if p.Critical.Image.DockerManifestDigest != digest {
		return fmt.Errorf("payload signed by %s is for digest '%s'", by, p.Critical.Image.DockerManifestDigest)
	}
	return nil
}
