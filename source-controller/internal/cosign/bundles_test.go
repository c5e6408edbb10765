package cosign_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"gotk.dev/pkg/oci"
	"gotk.dev/source-controller/internal/cosign"
	"gotk.dev/source-controller/internal/cosign/cosigntest"
)

// Signatures as cosign v3 stores them, Sigstore bundles referring to the
// artifact, verify with a key and keyless; one of another artifact, with
// a changed statement, of another predicate, by a wrong identity or with
// an expired certificate is refused, and attestations are not taken for
// signatures.
func TestVerifyBundle(t *testing.T) {
	ss := must(cosigntest.NewSigstore())
	t.Cleanup(ss.Close)
	tm := must(cosign.ParseTrustedRoot(must(ss.TrustedRootJSON())))
	key := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	other := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	keys := must(cosign.PublicKeys(map[string][]byte{"cosign.pub": must(cosigntest.PublicKeyPEM(key))}))
	match := []cosign.Identity{{Issuer: `^https://token\.actions\.example$`, Subject: `^ci@example\.com$`}}
	identity := "identity '" + testSubject + "' issued by '" + testIssuer + "'"
	type bundleFn func(repo name.Repository, digest string) []byte
	keyed := func(k *ecdsa.PrivateKey, predicate string) bundleFn {
		return func(repo name.Repository, digest string) []byte {
			return must(cosigntest.BundleWithKey(cosigntest.Statement(repo, digest, predicate), k))
		}
	}
	keyless := func(subject string, o cosigntest.SignOptions) bundleFn {
		return func(repo name.Repository, digest string) []byte {
			return must(ss.Bundle(cosigntest.Statement(repo, digest, cosign.SignPredicateType), subject, testIssuer, o))
		}
	}
	otherDigest := "sha256:" + strings.Repeat("1", 64)

	for tcName, tc := range map[string]struct {
		bundle     bundleFn
		annotation string // the predicate type in the referrers list
		keyless    bool
		legacy     bool // a legacy signature by another key too
		want       string
		wantErr    []string
	}{
		"key":                      {bundle: keyed(key, cosign.SignPredicateType), want: "key 'cosign.pub'"},
		"key, beside a legacy one": {bundle: keyed(key, cosign.SignPredicateType), legacy: true, want: "key 'cosign.pub'"},
		"keyless":                  {bundle: keyless(testSubject, cosigntest.SignOptions{}), keyless: true, want: identity},
		"keyless, logged only":     {bundle: keyless(testSubject, cosigntest.SignOptions{NoTimestamp: true}), keyless: true, want: identity},
		"wrong key":                {bundle: keyed(other, cosign.SignPredicateType), wantErr: []string{"Sigstore bundle sha256:", "the signature does not verify with any trusted key"}},
		"another artifact": {bundle: func(repo name.Repository, _ string) []byte {
			return must(cosigntest.BundleWithKey(cosigntest.Statement(repo, otherDigest, cosign.SignPredicateType), key))
		}, wantErr: []string{"the signature does not verify with any trusted key"}},
		"changed statement": {bundle: func(repo name.Repository, digest string) []byte {
			b := keyed(key, cosign.SignPredicateType)(repo, digest)
			// The payload is base64 in the JSON: change a letter of it.
			i := strings.Index(string(b), `"payload":"`) + len(`"payload":"`) + 8
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			return b
		}, wantErr: []string{"the signature does not verify with any trusted key"}},
		"another predicate, mislabelled": {bundle: keyed(key, "https://slsa.dev/provenance/v1"),
			wantErr: []string{"the bundle signed by 'cosign.pub' is not a cosign signature: its predicate type is https://slsa.dev/provenance/v1, not " + cosign.SignPredicateType}},
		"an attestation only": {bundle: keyed(key, "https://slsa.dev/provenance/v1"), annotation: "https://slsa.dev/provenance/v1",
			wantErr: []string{"no signature found for", "no Sigstore bundle refers to it"}},
		"wrong identity": {bundle: keyless("mallory@example.org", cosigntest.SignOptions{}), keyless: true,
			wantErr: []string{"the signature's identity 'mallory@example.org' issued by '" + testIssuer + "' matches no verify.matchOIDCIdentity entry"}},
		"expired certificate": {bundle: keyless(testSubject, cosigntest.SignOptions{Expired: true}), keyless: true,
			wantErr: []string{"the certificate of " + identity + " was valid from ", "not when the signature was logged at "}},
		"keyless, another artifact": {keyless: true, bundle: func(repo name.Repository, _ string) []byte {
			return keyless(testSubject, cosigntest.SignOptions{})(repo, otherDigest)
		}, wantErr: []string{"the signature by " + identity + " does not verify"}},
	} {
		t.Run(tcName, func(t *testing.T) {
			repo, digest := artifact(t)
			annotation := tc.annotation
			if annotation == "" {
				annotation = cosign.SignPredicateType
			}
			if err := cosigntest.PushBundle(repo, digest, tc.bundle(repo, digest), annotation); err != nil {
				t.Fatal(err)
			}
			if tc.legacy {
				if err := cosigntest.Push(repo, digest, byKey(other)(repo, digest)); err != nil {
					t.Fatal(err)
				}
			}
			p := cosign.Policy{Keys: keys}
			if tc.keyless {
				p = cosign.Policy{TrustedRoot: tm, Identities: match}
			}
			r, err := cosign.Verify(context.Background(), repo, digest, p, oci.Options{Insecure: true})
			expectResult(t, r, err, tc.want, tc.wantErr)
		})
	}
}

// A registry listing more bundles than are read says so, rather than
// holding the reconcile.
func TestVerifyBundleLimit(t *testing.T) {
	repo, digest := artifact(t)
	other := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	key := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	for range 33 {
		b := must(cosigntest.BundleWithKey(cosigntest.Statement(repo, digest, cosign.SignPredicateType), other))
		if err := cosigntest.PushBundle(repo, digest, b, cosign.SignPredicateType); err != nil {
			t.Fatal(err)
		}
	}
	keys := must(cosign.PublicKeys(map[string][]byte{"cosign.pub": must(cosigntest.PublicKeyPEM(key))}))
	r, err := cosign.Verify(context.Background(), repo, digest, cosign.Policy{Keys: keys}, oci.Options{Insecure: true})
	expectResult(t, r, err, "", []string{"more than 32 Sigstore bundles refer to it: the others were not read"})
	if n := strings.Count(err.Error(), "Sigstore bundle sha256:"); n != 32 {
		t.Fatalf("%d bundles read, want 32", n)
	}
}
