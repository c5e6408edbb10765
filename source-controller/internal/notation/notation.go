// Package notation verifies the Notary Project (notation) signatures of
// OCI artifacts: signature manifests that refer to the artifact (OCI
// referrers, or the referrers tag schema where the registry has no
// referrers API) with artifact type application/vnd.cncf.notary.signature,
// checked by notation-go against a trust policy and the certificates of a
// Secret, as Flux's verify.provider notation reads them.
package notation

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	notationgo "github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/registry"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"

	"gotk.dev/pkg/oci"
)

// TrustPolicyKey is the Secret key holding the trust policy document.
const TrustPolicyKey = "trustpolicy.json"

// maxSignatures bounds the signatures tried per artifact, so a registry
// cannot make one verification fetch without end.
const maxSignatures = 50

// errFound stops listing signatures at the first page that has one.
var errFound = errors.New("found a signature")

// ErrNoSignature means no notation signature refers to the artifact.
var ErrNoSignature = errors.New("no notation signature found")

// Policy is what a verification trusts: a validated trust policy document
// and the certificates of its trust stores.
type Policy struct {
	doc   *trustpolicy.Document
	certs []*x509.Certificate
}

// ParsePolicy reads a verify.secretRef Secret's data: the trust policy
// under trustpolicy.json and the certificates (PEM or DER) of every key
// ending in .crt or .pem. Errors name the key at fault.
func ParsePolicy(data map[string][]byte) (Policy, error) {
	var p Policy
	raw, ok := data[TrustPolicyKey]
	if !ok {
		return p, fmt.Errorf("no '%s' key", TrustPolicyKey)
	}
	// Unknown fields pass, as with notation and Flux.
	p.doc = &trustpolicy.Document{}
	if err := json.Unmarshal(raw, p.doc); err != nil {
		return p, fmt.Errorf("key '%s' is not a trust policy document: %v", TrustPolicyKey, err)
	}
	if err := p.doc.Validate(); err != nil {
		return p, fmt.Errorf("key '%s' is invalid: %v", TrustPolicyKey, err)
	}
	var keys []string
	for k := range data {
		if strings.HasSuffix(k, ".crt") || strings.HasSuffix(k, ".pem") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		certs, err := parseCertificates(data[k])
		if err != nil {
			return p, fmt.Errorf("key '%s': %v", k, err)
		}
		if len(certs) == 0 {
			return p, fmt.Errorf("key '%s' holds no certificate", k)
		}
		p.certs = append(p.certs, certs...)
	}
	if len(p.certs) == 0 {
		return p, errors.New("no certificates: no key ends in '.crt' or '.pem'")
	}
	return p, nil
}

// Certificates are the certificates the trust stores hold.
func (p Policy) Certificates() []*x509.Certificate { return p.certs }

// Result says which trust policy and signer a signature verified with.
type Result struct {
	// Policy is the name of the applicable trust policy statement.
	Policy string
	// Signer is the subject of the signing certificate.
	Signer string
	// Skipped is set when the trust policy's level is skip: nothing was
	// verified.
	Skipped bool
}

// String names the signer and the policy, for condition messages.
func (r Result) String() string {
	return fmt.Sprintf("certificate '%s' under trust policy '%s'", r.Signer, r.Policy)
}

// Verify checks the notation signatures of repo@digest with p. It fails
// with ErrNoSignature when none refers to the artifact.
func Verify(ctx context.Context, repo name.Repository, digest string, p Policy, o oci.Options) (Result, error) {
	if p.doc == nil {
		return Result{}, errors.New("no trust policy")
	}
	ref := repo.Name() + "@" + digest
	policy, err := p.doc.GetApplicableTrustPolicy(ref)
	if err != nil {
		return Result{}, fmt.Errorf("no trust policy statement's registryScopes match '%s'", repo.Name())
	}
	res := Result{Policy: policy.Name}
	if lvl, err := policy.SignatureVerification.GetVerificationLevel(); err == nil && lvl.Name == trustpolicy.LevelSkip.Name {
		res.Skipped = true
		return res, nil
	}
	v, err := verifier.NewWithOptions(p.doc, trustStore(p.certs), nil, verifier.VerifierOptions{})
	if err != nil {
		return res, err
	}
	r, err := remoteRepository(repo, o)
	if err != nil {
		return res, err
	}
	nr := registry.NewRepository(r)
	// Look for a signature first: notation-go reports "none" and "none
	// readable" alike.
	desc, err := r.Resolve(ctx, digest)
	if err != nil {
		return res, fmt.Errorf("resolving %s: %w", ref, err)
	}
	found := false
	if err := nr.ListSignatures(ctx, desc, func(sigs []ocispec.Descriptor) error {
		if found = len(sigs) > 0; found {
			return errFound
		}
		return nil
	}); err != nil && !errors.Is(err, errFound) {
		return res, fmt.Errorf("listing the signatures of %s: %w", ref, err)
	}
	if !found {
		return res, fmt.Errorf("%w for '%s': no signature manifest in %s refers to it", ErrNoSignature, digest, repo.Name())
	}
	_, outcomes, err := notationgo.Verify(ctx, v, nr, notationgo.VerifyOptions{ArtifactReference: ref, MaxSignatureAttempts: maxSignatures})
	if err != nil {
		return res, fmt.Errorf("trust policy '%s': %s", policy.Name, oneLine(err))
	}
	if len(outcomes) > 0 && outcomes[0].EnvelopeContent != nil {
		if chain := outcomes[0].EnvelopeContent.SignerInfo.CertificateChain; len(chain) > 0 {
			res.Signer = chain[0].Subject.String()
		}
	}
	return res, nil
}

// oneLine is notation-go's error on one line: it joins a bare
// "signature verification failed" and one error per signature tried.
func oneLine(err error) string {
	var parts []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if vf, ok := e.(notationgo.VerificationFailedError); ok && vf.Msg == "" {
				continue
			}
			parts = append(parts, e.Error())
		}
	}
	if len(parts) == 0 {
		return strings.ReplaceAll(err.Error(), "\n", "; ")
	}
	return strings.Join(parts, "; ")
}

// parseCertificates reads PEM CERTIFICATE blocks, or else DER.
func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	if len(certs) > 0 || strings.Contains(string(data), "-----BEGIN") {
		return certs, nil
	}
	return x509.ParseCertificates(data)
}

// trustStore hands every certificate of the Secret to each trust store
// the policy names: the Secret is the trust store, as in Flux.
type trustStore []*x509.Certificate

func (s trustStore) GetCertificates(_ context.Context, _ truststore.Type, _ string) ([]*x509.Certificate, error) {
	return s, nil
}

// remoteRepository is an oras client of repo with o's credentials,
// transport and user agent: plain HTTP when o.Insecure.
func remoteRepository(repo name.Repository, o oci.Options) (*remote.Repository, error) {
	r, err := remote.NewRepository(repo.Name())
	if err != nil {
		return nil, err
	}
	r.PlainHTTP = o.Insecure
	c := &auth.Client{Client: &http.Client{Transport: o.Transport()}, Cache: auth.NewCache()}
	if o.UserAgent != "" {
		c.SetUserAgent(o.UserAgent)
	}
	if o.Auth != nil {
		a := o.Auth
		c.Credential = func(ctx context.Context, _ string) (auth.Credential, error) {
			cfg, err := authn.Authorization(ctx, a)
			if err != nil {
				return auth.EmptyCredential, err
			}
			return auth.Credential{Username: cfg.Username, Password: cfg.Password,
				RefreshToken: cfg.IdentityToken, AccessToken: cfg.RegistryToken}, nil
		}
	}
	r.Client = c
	return r, nil
}
