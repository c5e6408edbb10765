package cosign

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// candidate is one signature in the form sigstore-go verifies, whatever
// the format it was stored in.
type candidate struct {
	// keyEntity and certEntity are the signature as signed with a key
	// (no log, no timestamp consulted) and keyless.
	keyEntity, certEntity verify.SignedEntity
	// artifact ties the signature to what it signs.
	artifact func() verify.ArtifactPolicyOption
	// cert is the signing certificate of a keyless signature; tlog its
	// log entries.
	cert *x509.Certificate
	tlog []*tlog.Entry
	// check checks what a verified signature says; by names the signer.
	check func(r *verify.VerificationResult, by string) error
}

// verifyWithKeys checks c with each key in turn, as sigstore verifies a
// signature made with a long-lived key.
func (c *candidate) verifyWithKeys(keys []Key) (Result, error) {
	for _, k := range keys {
		expiring := root.NewExpiringKey(k.verifier, time.Time{}, time.Time{})
		tm := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return expiring, nil })
		// With a key, cosign (and Flux) do not require a transparency
		// log entry; the key is trusted at any time.
		v, err := verify.NewVerifier(tm, verify.WithNoObserverTimestamps())
		if err != nil {
			return Result{}, err
		}
		r, err := v.Verify(c.keyEntity, verify.NewPolicy(c.artifact(), verify.WithKey()))
		if err != nil {
			continue
		}
		return Result{Key: k.Name}, c.check(r, "'"+k.Name+"'")
	}
	return Result{}, errors.New("the signature does not verify with any trusted key")
}

// verifyKeyless checks a certificate-signed signature against the trusted
// root: the log entries and timestamps first, then the certificate at the
// times they observed, then the signature and the identity. The first
// steps are run apart only to say precisely which one failed.
func (c *candidate) verifyKeyless(p Policy) (Result, error) {
	if c.cert == nil {
		return Result{}, errors.New("the signature has no certificate (it was made with a key: verify it with verify.secretRef)")
	}
	summary, err := certificate.SummarizeCertificate(c.cert)
	if err != nil {
		return Result{}, fmt.Errorf("the signing certificate: %v", err)
	}
	by := Result{Issuer: summary.Issuer, Subject: summary.SubjectAlternativeName}
	if ts, err := c.certEntity.Timestamps(); err == nil && len(ts) == 0 && len(c.tlog) == 0 {
		return Result{}, fmt.Errorf("the signature by %s has neither a transparency log entry nor a signed timestamp to show when it was made", by)
	}
	opts := []verify.VerifierOption{verify.WithObserverTimestamps(1)}
	if len(c.tlog) > 0 {
		opts = append(opts, verify.WithTransparencyLog(1))
	}
	if len(p.TrustedRoot.CTLogs()) > 0 {
		opts = append(opts, verify.WithSignedCertificateTimestamps(1))
	}
	v, err := verify.NewVerifier(p.TrustedRoot, opts...)
	if err != nil {
		return Result{}, err
	}
	logged, err := v.VerifyTransparencyLogInclusion(c.certEntity)
	if err != nil {
		for _, entry := range c.tlog {
			// The log's time is believed only once its promise verifies.
			if entry.HasInclusionPromise() && tlog.VerifySET(entry, p.TrustedRoot.RekorLogs()) == nil && !c.validAt(entry.IntegratedTime()) {
				return Result{}, c.expired(by, "logged", entry.IntegratedTime())
			}
		}
		return Result{}, fmt.Errorf("the transparency log entry of the signature by %s does not verify: %v", by, err)
	}
	observed, err := v.VerifyObserverTimestamps(c.certEntity, logged)
	if err != nil {
		return Result{}, fmt.Errorf("the signature by %s has no verified transparency log entry or signed timestamp: %v", by, err)
	}
	for _, t := range observed {
		if !c.validAt(t.Timestamp) {
			return Result{}, c.expired(by, observedBy(t.Type), t.Timestamp)
		}
	}
	ids, err := certificateIdentities(p.Identities)
	if err != nil {
		return Result{}, err
	}
	r, err := v.Verify(c.certEntity, verify.NewPolicy(c.artifact(), ids...))
	if err != nil {
		var noMatch *verify.ErrNoMatchingCertificateIdentity
		if errors.As(err, &noMatch) {
			return Result{}, fmt.Errorf("the signature's %s matches no verify.matchOIDCIdentity entry", by)
		}
		return Result{}, fmt.Errorf("the signature by %s does not verify: %v", by, err)
	}
	return by, c.check(r, by.String())
}

// validAt says whether the signing certificate was valid at t.
func (c *candidate) validAt(t time.Time) bool {
	return !t.Before(c.cert.NotBefore) && !t.After(c.cert.NotAfter)
}

// expired says that the certificate was not valid when the signature was
// observed (how) at t.
func (c *candidate) expired(by Result, how string, t time.Time) error {
	return fmt.Errorf("the certificate of %s was valid from %s to %s, not when the signature was %s at %s",
		by, stamp(c.cert.NotBefore), stamp(c.cert.NotAfter), how, stamp(t))
}

// certificateIdentities turns the policy's identities into sigstore's;
// none matches any identity, as Flux does without matchOIDCIdentity.
func certificateIdentities(ids []Identity) ([]verify.PolicyOption, error) {
	if len(ids) == 0 {
		ids = []Identity{{Issuer: ".*", Subject: ".*"}}
	}
	var opts []verify.PolicyOption
	for i, id := range ids {
		ci, err := verify.NewShortCertificateIdentity("", id.Issuer, "", id.Subject)
		if err != nil {
			return nil, fmt.Errorf("matchOIDCIdentity[%d]: %v", i, err)
		}
		opts = append(opts, verify.WithCertificateIdentity(ci))
	}
	return opts, nil
}

// observedBy says what gave a verified timestamp, for messages.
func observedBy(kind string) string {
	if kind == "Tlog" {
		return "logged"
	}
	return "timestamped"
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// candidate is the simple-signing layer as sigstore-go verifies it.
func (s *sigLayer) candidate(digest string) *candidate {
	return &candidate{
		keyEntity:  layerEntity{s: s},
		certEntity: layerEntity{s: s, keyless: true},
		artifact:   func() verify.ArtifactPolicyOption { return verify.WithArtifact(bytes.NewReader(s.payload)) },
		cert:       s.cert,
		tlog:       s.tlog,
		check:      func(_ *verify.VerificationResult, by string) error { return checkPayload(s.payload, digest, by) },
	}
}

// layerEntity is a simple-signing layer as sigstore-go's signed entity: a
// message signature over the payload; keyless, with the certificate, Rekor
// entry and timestamps of its annotations, else with none of them.
type layerEntity struct {
	s       *sigLayer
	keyless bool
}

func (e layerEntity) HasInclusionPromise() bool { return e.keyless && len(e.s.tlog) > 0 }
func (e layerEntity) HasInclusionProof() bool   { return false }
func (e layerEntity) VerificationContent() (verify.VerificationContent, error) {
	if e.keyless {
		return bundle.NewCertificate(e.s.cert), nil
	}
	return &bundle.PublicKey{}, nil
}
func (e layerEntity) SignatureContent() (verify.SignatureContent, error) {
	return bundle.NewMessageSignature(e.s.digest(), "SHA2_256", e.s.sig), nil
}
func (e layerEntity) Timestamps() ([][]byte, error) {
	if e.keyless {
		return e.s.timestamps, nil
	}
	return nil, nil
}
func (e layerEntity) TlogEntries() ([]*tlog.Entry, error) {
	if e.keyless {
		return e.s.tlog, nil
	}
	return nil, nil
}
func (e layerEntity) Version() (string, error) { return "v0.1", nil }
