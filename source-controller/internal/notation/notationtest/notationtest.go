// Package notationtest makes notation signatures for tests: a CA and a
// code-signing leaf certificate generated on the spot, and signatures
// pushed to a registry as notation pushes them.
package notationtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	notationgo "github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/registry"
	"github.com/notaryproject/notation-go/signer"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// Signer is a code-signing key with its certificate chain (leaf, CA).
type Signer struct {
	Key   *ecdsa.PrivateKey
	Leaf  *x509.Certificate
	CA    *x509.Certificate
	CAKey *ecdsa.PrivateKey
}

// NewSigner generates a CA named caName and a leaf certificate under it
// for code signing.
func NewSigner(caName string) (*Signer, error) {
	s := &Signer{}
	var err error
	if s.CAKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if s.Key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	now := time.Now().Add(-time.Minute)
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: caName, Organization: []string{"gotk test"}},
		NotBefore:             now,
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
	}
	der, err := x509.CreateCertificate(rand.Reader, ca, ca, &s.CAKey.PublicKey, s.CAKey)
	if err != nil {
		return nil, err
	}
	if s.CA, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	leaf := &x509.Certificate{
		SerialNumber:          big.NewInt(2),
		Subject:               pkix.Name{CommonName: caName + " signer", Organization: []string{"gotk test"}},
		NotBefore:             now,
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
	}
	if der, err = x509.CreateCertificate(rand.Reader, leaf, s.CA, &s.Key.PublicKey, s.CAKey); err != nil {
		return nil, err
	}
	if s.Leaf, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	return s, nil
}

// CAPEM is the CA certificate in PEM, for a trust store.
func (s *Signer) CAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.CA.Raw})
}

// Sign signs repo@digest (repo as "host:port/path" on a plain HTTP
// registry, with basic credentials when basic is not nil) and pushes the
// signature manifest that refers to it.
func (s *Signer) Sign(ctx context.Context, repo, digest string, basic *authn.Basic) error {
	gs, err := signer.NewGenericSigner(s.Key, []*x509.Certificate{s.Leaf, s.CA})
	if err != nil {
		return err
	}
	r, err := remote.NewRepository(repo)
	if err != nil {
		return err
	}
	r.PlainHTTP = true
	if basic != nil {
		r.Client = &auth.Client{Credential: auth.StaticCredential(r.Reference.Registry,
			auth.Credential{Username: basic.Username, Password: basic.Password})}
	}
	_, err = notationgo.Sign(ctx, gs, registry.NewRepository(r), notationgo.SignOptions{
		ArtifactReference: repo + "@" + digest,
		SignerSignOptions: notationgo.SignerSignOptions{SignatureMediaType: "application/jose+json"},
	})
	if err != nil {
		return fmt.Errorf("signing %s@%s: %w", repo, digest, err)
	}
	return nil
}

// TrustPolicy is a trust policy document with one strict statement
// named name for registryScopes, trusting the "ca" store name and any
// identity.
func TrustPolicy(name string, scopes ...string) []byte {
	q := func(ss []string) string {
		out := ""
		for i, s := range ss {
			if i > 0 {
				out += ","
			}
			out += fmt.Sprintf("%q", s)
		}
		return out
	}
	return fmt.Appendf(nil, `{"version":"1.0","trustPolicies":[{"name":%q,"registryScopes":[%s],`+
		`"signatureVerification":{"level":"strict"},"trustStores":["ca:%s"],"trustedIdentities":["*"]}]}`,
		name, q(scopes), name)
}
