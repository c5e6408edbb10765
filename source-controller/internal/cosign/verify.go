package cosign

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// verifyWithKeys checks the signature with each key in turn, as sigstore
// verifies a signature made with a long-lived key.
func (s *sigLayer) verifyWithKeys(keys []Key, digest string) (Result, error) {
	for _, k := range keys {
		expiring := root.NewExpiringKey(k.verifier, time.Time{}, time.Time{})
		tm := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return expiring, nil })
		// With a key, cosign (and Flux) do not require a transparency
		// log entry; the key is trusted at any time.
		v, err := verify.NewVerifier(tm, verify.WithNoObserverTimestamps())
		if err != nil {
			return Result{}, err
		}
		if _, err := v.Verify(keyEntity{s}, verify.NewPolicy(verify.WithArtifact(bytes.NewReader(s.payload)), verify.WithKey())); err != nil {
			continue
		}
		return Result{Key: k.Name}, checkPayload(s.payload, digest, "'"+k.Name+"'")
	}
	return Result{}, errors.New("the signature does not verify with any trusted key")
}

// verifyKeyless checks a certificate-signed signature against the trusted
// root: the log entries and timestamps first, then the certificate at the
// times they observed, then the signature and the identity. The first
// steps are run apart only to say precisely which one failed.
func (s *sigLayer) verifyKeyless(p Policy, digest string) (Result, error) {
	if s.cert == nil {
		return Result{}, errors.New("the signature has no certificate (it was made with a key: verify it with verify.secretRef)")
	}
	summary, err := certificate.SummarizeCertificate(s.cert)
	if err != nil {
		return Result{}, fmt.Errorf("the signing certificate: %v", err)
	}
	by := Result{Issuer: summary.Issuer, Subject: summary.SubjectAlternativeName}
	opts := []verify.VerifierOption{verify.WithObserverTimestamps(1)}
	if len(s.tlog) > 0 {
		opts = append(opts, verify.WithTransparencyLog(1))
	}
	if len(p.TrustedRoot.CTLogs()) > 0 {
		opts = append(opts, verify.WithSignedCertificateTimestamps(1))
	}
	v, err := verify.NewVerifier(p.TrustedRoot, opts...)
	if err != nil {
		return Result{}, err
	}
	e := certEntity{s}
	logged, err := v.VerifyTransparencyLogInclusion(e)
	if err != nil {
		for _, entry := range s.tlog {
			// The log's time is believed only once its promise verifies.
			if tlog.VerifySET(entry, p.TrustedRoot.RekorLogs()) == nil && !s.validAt(entry.IntegratedTime()) {
				return Result{}, s.expired(by, "logged", entry.IntegratedTime())
			}
		}
		return Result{}, fmt.Errorf("the transparency log entry of the signature by %s does not verify: %v", by, err)
	}
	observed, err := v.VerifyObserverTimestamps(e, logged)
	if err != nil {
		return Result{}, fmt.Errorf("the signature by %s has no verified transparency log entry or signed timestamp: %v", by, err)
	}
	for _, t := range observed {
		if !s.validAt(t.Timestamp) {
			return Result{}, s.expired(by, observedBy(t.Type), t.Timestamp)
		}
	}
	ids, err := certificateIdentities(p.Identities)
	if err != nil {
		return Result{}, err
	}
	if _, err := v.Verify(e, verify.NewPolicy(verify.WithArtifact(bytes.NewReader(s.payload)), ids...)); err != nil {
		var noMatch *verify.ErrNoMatchingCertificateIdentity
		if errors.As(err, &noMatch) {
			return Result{}, fmt.Errorf("the signature's %s matches no verify.matchOIDCIdentity entry", by)
		}
		return Result{}, fmt.Errorf("the signature by %s does not verify: %v", by, err)
	}
	return by, checkPayload(s.payload, digest, by.String())
}

// validAt says whether the signing certificate was valid at t.
func (s *sigLayer) validAt(t time.Time) bool {
	return !t.Before(s.cert.NotBefore) && !t.After(s.cert.NotAfter)
}

// expired says that the certificate was not valid when the signature was
// observed (how) at t.
func (s *sigLayer) expired(by Result, how string, t time.Time) error {
	return fmt.Errorf("the certificate of %s was valid from %s to %s, not when the signature was %s at %s",
		by, stamp(s.cert.NotBefore), stamp(s.cert.NotAfter), how, stamp(t))
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

// keyEntity is a key-pair signature as sigstore-go's signed entity: a
// message signature over the payload, no certificate, log or timestamp.
type keyEntity struct{ s *sigLayer }

func (e keyEntity) HasInclusionPromise() bool { return false }
func (e keyEntity) HasInclusionProof() bool   { return false }
func (e keyEntity) VerificationContent() (verify.VerificationContent, error) {
	return &bundle.PublicKey{}, nil
}
func (e keyEntity) SignatureContent() (verify.SignatureContent, error) {
	return bundle.NewMessageSignature(e.s.digest(), "SHA2_256", e.s.sig), nil
}
func (e keyEntity) Timestamps() ([][]byte, error)       { return nil, nil }
func (e keyEntity) TlogEntries() ([]*tlog.Entry, error) { return nil, nil }
func (e keyEntity) Version() (string, error)            { return "v0.1", nil }

// certEntity is a keyless signature as sigstore-go's signed entity, with
// the certificate, Rekor entry and timestamps from its annotations.
type certEntity struct{ s *sigLayer }

func (e certEntity) HasInclusionPromise() bool { return len(e.s.tlog) > 0 }
func (e certEntity) HasInclusionProof() bool   { return false }
func (e certEntity) VerificationContent() (verify.VerificationContent, error) {
	return bundle.NewCertificate(e.s.cert), nil
}
func (e certEntity) SignatureContent() (verify.SignatureContent, error) {
	return bundle.NewMessageSignature(e.s.digest(), "SHA2_256", e.s.sig), nil
}
func (e certEntity) Timestamps() ([][]byte, error)       { return e.s.timestamps, nil }
func (e certEntity) TlogEntries() ([]*tlog.Entry, error) { return e.s.tlog, nil }
func (e certEntity) Version() (string, error)            { return "v0.1", nil }
