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

const (
	testIssuer  = "https://token.actions.example"
	testSubject = "ci@example.com"
)

// Keyless signatures verify against a trusted root: the certificate
// chains to its CA at the time its log or timestamp authority saw the
// signature, and the certificate's identity matches the policy. A wrong
// identity, an expired certificate, a tampered payload, an untrusted CA,
// no log entry or timestamp, and a key-pair signature are refused, each
// saying why.
func TestVerifyKeyless(t *testing.T) {
	ss := must(cosigntest.NewSigstore())
	t.Cleanup(ss.Close)
	tm := must(cosign.ParseTrustedRoot(must(ss.TrustedRootJSON())))
	untrusted := must(cosigntest.NewSigstore())
	t.Cleanup(untrusted.Close)
	key := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	match := []cosign.Identity{{Issuer: `^https://token\.actions\.example$`, Subject: `^ci@example\.com$`}}
	signed := func(s *cosigntest.Sigstore, subject string, o cosigntest.SignOptions) func(name.Repository, string) []cosigntest.Layer {
		return func(repo name.Repository, digest string) []cosigntest.Layer {
			return []cosigntest.Layer{must(s.Sign(cosigntest.Payload(repo, digest), subject, testIssuer, o))}
		}
	}
	tamper := func(sign func(name.Repository, string) []cosigntest.Layer) func(name.Repository, string) []cosigntest.Layer {
		return func(repo name.Repository, digest string) []cosigntest.Layer {
			l := sign(repo, digest)
			l[0].Payload = []byte(strings.Replace(string(l[0].Payload), `"optional":null`, `"optional":{"by":"someone else"}`, 1))
			return l
		}
	}
	identity := "identity '" + testSubject + "' issued by '" + testIssuer + "'"

	for tcName, tc := range map[string]struct {
		sign       func(name.Repository, string) []cosigntest.Layer
		identities []cosign.Identity
		want       string
		wantErr    []string
	}{
		"logged and timestamped": {sign: signed(ss, testSubject, cosigntest.SignOptions{}), identities: match, want: identity},
		"logged only":            {sign: signed(ss, testSubject, cosigntest.SignOptions{NoTimestamp: true}), identities: match, want: identity},
		"timestamped only":       {sign: signed(ss, testSubject, cosigntest.SignOptions{NoLog: true}), identities: match, want: identity},
		"second identity matches": {sign: signed(ss, testSubject, cosigntest.SignOptions{}), want: identity,
			identities: []cosign.Identity{{Issuer: ".*", Subject: "^release@"}, {Issuer: "^https://token", Subject: "@example.com$"}}},
		"no identity: any": {sign: signed(ss, "anyone@example.org", cosigntest.SignOptions{}), want: "identity 'anyone@example.org' issued by '" + testIssuer + "'"},
		"wrong identity": {sign: signed(ss, "mallory@example.org", cosigntest.SignOptions{}), identities: match,
			wantErr: []string{"the signature's identity 'mallory@example.org' issued by '" + testIssuer + "' matches no verify.matchOIDCIdentity entry"}},
		"expired certificate": {sign: signed(ss, testSubject, cosigntest.SignOptions{Expired: true}), identities: match,
			wantErr: []string{"the certificate of " + identity + " was valid from ", "not when the signature was logged at "}},
		"tampered payload": {sign: tamper(signed(ss, testSubject, cosigntest.SignOptions{})), identities: match,
			wantErr: []string{"the transparency log entry of the signature by " + identity + " does not verify", "does not match artifact"}},
		"tampered payload, timestamped only": {sign: tamper(signed(ss, testSubject, cosigntest.SignOptions{NoLog: true})), identities: match,
			wantErr: []string{"the signature by " + identity + " does not verify", "failed to verify signature"}},
		"untrusted CA and log": {sign: signed(untrusted, testSubject, cosigntest.SignOptions{}), identities: match,
			wantErr: []string{"the transparency log entry of the signature by " + identity + " does not verify"}},
		"untrusted CA, timestamped only": {sign: signed(untrusted, testSubject, cosigntest.SignOptions{NoLog: true}), identities: match,
			wantErr: []string{"the signature by " + identity + " has no verified transparency log entry or signed timestamp"}},
		"neither log nor timestamp": {sign: signed(ss, testSubject, cosigntest.SignOptions{NoLog: true, NoTimestamp: true}), identities: match,
			wantErr: []string{"the signature by " + identity + " has neither a transparency log entry nor a signed timestamp to show when it was made"}},
		"signed with a key": {sign: byKey(key), identities: match,
			wantErr: []string{"the signature has no certificate (it was made with a key: verify it with verify.secretRef)"}},
		"another artifact's payload": {identities: match, sign: func(repo name.Repository, _ string) []cosigntest.Layer {
			return signed(ss, testSubject, cosigntest.SignOptions{})(repo, "sha256:"+strings.Repeat("0", 64))
		}, wantErr: []string{"payload signed by " + identity + " is for digest 'sha256:0000"}},
		"unsigned": {identities: match, wantErr: []string{"no signature found for"}},
	} {
		t.Run(tcName, func(t *testing.T) {
			repo, digest := artifact(t)
			if tc.sign != nil {
				if err := cosigntest.Push(repo, digest, tc.sign(repo, digest)); err != nil {
					t.Fatal(err)
				}
			}
			p := cosign.Policy{TrustedRoot: tm, Identities: tc.identities}
			r, err := cosign.Verify(context.Background(), repo, digest, p, oci.Options{Insecure: true})
			expectResult(t, r, err, tc.want, tc.wantErr)
		})
	}
}

// An identity that is not a regular expression is refused before any
// signature is read, naming the entry.
func TestVerifyPolicyInvalid(t *testing.T) {
	err := cosign.CheckIdentities([]cosign.Identity{{Issuer: ".*", Subject: ".*"}, {Issuer: "(", Subject: ".*"}})
	if err == nil || !strings.HasPrefix(err.Error(), "matchOIDCIdentity[1].issuer: ") {
		t.Fatalf("error %v, want matchOIDCIdentity[1].issuer", err)
	}
	err = cosign.Policy{}.Validate()
	if err == nil || err.Error() != "no public key and no trusted root" {
		t.Fatalf("error %v", err)
	}
}
