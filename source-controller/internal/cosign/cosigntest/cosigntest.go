// Package cosigntest makes cosign signatures for tests: with a key pair,
// or keyless from a test Sigstore (a CA standing in for Fulcio that issues
// short-lived certificates with the OIDC issuer extension, a Rekor log and
// a timestamp authority on loopback speaking their HTTP APIs), stored in a
// registry as cosign stores them.
package cosigntest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
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

// Sigstore is a test Sigstore instance: a CA standing in for Fulcio, a
// Rekor log and a timestamp authority, the last two as loopback servers
// speaking their APIs; and sigstore-go's virtual Sigstore, whose log
// proves inclusion, for Sigstore bundles.
type Sigstore struct {
	fulcio   *root.FulcioCertificateAuthority
	fulcioCA *ecdsa.PrivateKey // the intermediate's key
	rekor    *Rekor
	tsa      *TSA
	vs       *ca.VirtualSigstore
}

// NewSigstore starts a test Sigstore with new keys; Close stops its
// servers.
func NewSigstore() (*Sigstore, error) {
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		return nil, err
	}
	inter, interKey, err := ca.GenerateFulcioIntermediate(rootCert, rootKey)
	if err != nil {
		return nil, err
	}
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		return nil, err
	}
	s := &Sigstore{vs: vs, fulcioCA: interKey, fulcio: &root.FulcioCertificateAuthority{Root: rootCert,
		Intermediates: []*x509.Certificate{inter}, ValidityPeriodStart: time.Now().Add(-time.Hour), URI: "https://fulcio.test"}}
	if s.rekor, err = NewRekor(); err != nil {
		return nil, err
	}
	if s.tsa, err = NewTSA(); err != nil {
		s.rekor.Close()
		return nil, err
	}
	return s, nil
}

// Close stops the log and the timestamp authority.
func (s *Sigstore) Close() {
	s.rekor.Close()
	s.tsa.Close()
}

// TrustedRootJSON is the trusted_root.json of s: its CAs, logs and
// timestamp authority (no CT log: its certificates carry no SCT).
func (s *Sigstore) TrustedRootJSON() ([]byte, error) {
	logs := map[string]*root.TransparencyLog{hex.EncodeToString(s.rekor.logID): s.rekor.Log()}
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
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, append(s.vs.FulcioCertificateAuthorities(), s.fulcio),
		map[string]*root.TransparencyLog{}, []root.TimestampingAuthority{s.tsa.Authority()}, logs)
	if err != nil {
		return nil, err
	}
	return tr.MarshalJSON()
}

// SignOptions say what a keyless signature carries.
type SignOptions struct {
	// Expired makes a certificate that expired before the signature was
	// logged.
	Expired bool
	// NoLog leaves out the Rekor entry; NoTimestamp the RFC 3161 timestamp.
	NoLog, NoTimestamp bool
}

// Sign signs payload keyless as cosign sign does: a ten-minute
// certificate for subject (an e-mail SAN) from OIDC issuer, the signature
// logged at the Rekor server and timestamped by the timestamp authority.
func (s *Sigstore) Sign(payload []byte, subject, issuer string, o SignOptions) (Layer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Layer{}, err
	}
	notBefore := time.Now()
	if o.Expired {
		notBefore = notBefore.Add(-20 * time.Minute)
	}
	cert, err := ca.GenerateLeafCert(subject, issuer, notBefore, key, s.fulcio.Intermediates[0], s.fulcioCA)
	if err != nil {
		return Layer{}, err
	}
	certPEM, err := cryptoutils.MarshalCertificateToPEM(cert)
	if err != nil {
		return Layer{}, err
	}
	chain, err := cryptoutils.MarshalCertificatesToPEM(append(s.fulcio.Intermediates, s.fulcio.Root))
	if err != nil {
		return Layer{}, err
	}
	sig, err := SignWithKey(payload, key)
	if err != nil {
		return Layer{}, err
	}
	sig.Annotations[cosign.CertificateAnnotation] = string(certPEM)
	sig.Annotations[cosign.ChainAnnotation] = string(chain)
	raw, err := base64.StdEncoding.DecodeString(sig.Annotations[cosign.SignatureAnnotation])
	if err != nil {
		return Layer{}, err
	}
	if !o.NoLog {
		if sig.Annotations[cosign.BundleAnnotation], err = LogSignature(s.rekor.URL(), payload, raw, certPEM); err != nil {
			return Layer{}, err
		}
	}
	if !o.NoTimestamp {
		ts, err := Timestamp(s.tsa.URL(), raw)
		if err != nil {
			return Layer{}, err
		}
		data, err := json.Marshal(map[string][]byte{"SignedRFC3161Timestamp": ts})
		if err != nil {
			return Layer{}, err
		}
		sig.Annotations[cosign.TimestampAnnotation] = string(data)
	}
	return sig, nil
}
