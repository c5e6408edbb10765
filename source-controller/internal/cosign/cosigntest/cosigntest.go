// Package cosigntest makes cosign signatures for tests: with a key pair,
// or keyless from a test Sigstore (sigstore-go's virtual Sigstore: a CA
// standing in for Fulcio that issues short-lived certificates with the
// OIDC issuer extension and a Rekor log signing entry timestamps; and a
// timestamp authority served over HTTP), stored in a registry as cosign
// stores them.
package cosigntest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"gotk.dev/source-controller/internal/cosign"
)

// Layer is one signature layer: the payload and its annotations.
type Layer struct {
	Payload     []byte
	Annotations map[string]string
}

// Push stores layers as the signature image of digest in repo, at its
// signature tag.
func Push(repo name.Repository, digest string, layers []Layer, opts ...remote.Option) error {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	for _, l := range layers {
		var err error
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:       static.NewLayer(l.Payload, cosign.SimpleSigningMediaType),
			Annotations: l.Annotations,
		})
		if err != nil {
			return err
		}
	}
	return remote.Write(repo.Tag(cosign.SignatureTag(digest)), img, opts...)
}

// Payload is the payload cosign signs for digest in repo.
func Payload(repo name.Repository, digest string) []byte {
	p, err := cosign.NewPayload(repo, digest)
	if err != nil {
		panic(err) // a struct of strings always marshals
	}
	return p
}

// SignWithKey signs payload with an ECDSA, RSA or ed25519 private key as
// cosign sign --key does (SHA-256; ed25519 signs the payload itself).
func SignWithKey(payload []byte, key crypto.Signer) (Layer, error) {
	s, err := signer(key)
	if err != nil {
		return Layer{}, err
	}
	sig, err := s.SignMessage(bytes.NewReader(payload))
	if err != nil {
		return Layer{}, err
	}
	return Layer{Payload: payload, Annotations: map[string]string{cosign.SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)}}, nil
}

// signer signs as cosign does with key: SHA-256, or ed25519 over the
// message itself.
func signer(key crypto.Signer) (signature.Signer, error) {
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		return signature.LoadECDSASigner(k, crypto.SHA256)
	case *rsa.PrivateKey:
		return signature.LoadRSAPKCS1v15Signer(k, crypto.SHA256)
	case ed25519.PrivateKey:
		return signature.LoadED25519Signer(k)
	}
	return nil, fmt.Errorf("unsupported key %T", key)
}

// PublicKeyPEM is the PEM public key of key, as in a cosign.pub file.
func PublicKeyPEM(key crypto.Signer) ([]byte, error) {
	return cryptoutils.MarshalPublicKeyToPEM(key.Public())
}

// Sigstore is a test Sigstore instance.
type Sigstore struct {
	vs  *ca.VirtualSigstore
	tsa *TSA
}

// NewSigstore starts a test Sigstore with new keys; Close stops its
// timestamp authority.
func NewSigstore() (*Sigstore, error) {
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		return nil, err
	}
	tsa, err := NewTSA()
	if err != nil {
		return nil, err
	}
	return &Sigstore{vs: vs, tsa: tsa}, nil
}

// Close stops the timestamp authority.
func (s *Sigstore) Close() { s.tsa.Close() }

// TrustedRootJSON is the trusted_root.json of s: its CA, log and
// timestamp authority (no CT log: its certificates carry no SCT).
func (s *Sigstore) TrustedRootJSON() ([]byte, error) {
	logs := map[string]*root.TransparencyLog{}
	for id, l := range s.vs.RekorLogs() {
		// The virtual log names itself by its hex ID's bytes; a trusted
		// root names it by the raw ID.
		raw, err := hex.DecodeString(id)
		if err != nil {
			return nil, err
		}
		c := *l
		c.ID = raw
		logs[id] = &c
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, s.vs.FulcioCertificateAuthorities(),
		map[string]*root.TransparencyLog{}, []root.TimestampingAuthority{s.tsa.Authority()}, logs)
	if err != nil {
		return nil, err
	}
	return tr.MarshalJSON()
}

// SignOptions say what a keyless signature carries.
type SignOptions struct {
	// LogTime is when the log says it saw the signature (default: now).
	// The certificate is valid for ten minutes from now.
	LogTime time.Time
	// NoLog leaves out the Rekor entry; NoTimestamp the RFC 3161 timestamp.
	NoLog, NoTimestamp bool
}

// Sign signs payload keyless as subject (an e-mail SAN) from OIDC issuer.
func (s *Sigstore) Sign(payload []byte, subject, issuer string, o SignOptions) (Layer, error) {
	if o.LogTime.IsZero() {
		o.LogTime = time.Now()
	}
	e, err := s.vs.SignAtTime(subject, issuer, payload, o.LogTime)
	if err != nil {
		return Layer{}, err
	}
	vc, err := e.VerificationContent()
	if err != nil {
		return Layer{}, err
	}
	certPEM, err := cryptoutils.MarshalCertificateToPEM(vc.Certificate())
	if err != nil {
		return Layer{}, err
	}
	sc, err := e.SignatureContent()
	if err != nil {
		return Layer{}, err
	}
	a := map[string]string{
		cosign.SignatureAnnotation:   base64.StdEncoding.EncodeToString(sc.Signature()),
		cosign.CertificateAnnotation: string(certPEM),
	}
	if fca, ok := s.vs.FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority); ok {
		chain, err := cryptoutils.MarshalCertificatesToPEM(append(fca.Intermediates, fca.Root))
		if err != nil {
			return Layer{}, err
		}
		a[cosign.ChainAnnotation] = string(chain)
	}
	if !o.NoLog {
		entries, err := e.TlogEntries()
		if err != nil || len(entries) != 1 {
			return Layer{}, errors.New("the test log made no entry")
		}
		tle := entries[0].TransparencyLogEntry()
		var b struct {
			SignedEntryTimestamp []byte `json:"SignedEntryTimestamp"`
			Payload              struct {
				Body           string `json:"body"`
				IntegratedTime int64  `json:"integratedTime"`
				LogIndex       int64  `json:"logIndex"`
				LogID          string `json:"logID"`
			} `json:"Payload"`
		}
		b.Payload.Body = base64.StdEncoding.EncodeToString(tle.GetCanonicalizedBody())
		b.Payload.IntegratedTime = tle.GetIntegratedTime()
		b.Payload.LogIndex = tle.GetLogIndex()
		b.Payload.LogID = hex.EncodeToString(tle.GetLogId().GetKeyId())
		// The log's promise to include the entry: its signature over the
		// canonical JSON of the payload above.
		if b.SignedEntryTimestamp, err = s.vs.RekorSignPayload(tlog.RekorPayload{Body: b.Payload.Body,
			IntegratedTime: b.Payload.IntegratedTime, LogIndex: b.Payload.LogIndex, LogID: b.Payload.LogID}); err != nil {
			return Layer{}, err
		}
		data, err := json.Marshal(b)
		if err != nil {
			return Layer{}, err
		}
		a[cosign.BundleAnnotation] = string(data)
	}
	if !o.NoTimestamp {
		ts, err := Timestamp(s.tsa.URL(), sc.Signature())
		if err != nil {
			return Layer{}, err
		}
		data, err := json.Marshal(map[string][]byte{"SignedRFC3161Timestamp": ts})
		if err != nil {
			return Layer{}, err
		}
		a[cosign.TimestampAnnotation] = string(data)
	}
	return Layer{Payload: payload, Annotations: a}, nil
}
