package cosign_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"gotk.dev/pkg/oci"
	"gotk.dev/pkg/testserver"
	"gotk.dev/source-controller/internal/cosign"
	"gotk.dev/source-controller/internal/cosign/cosigntest"
)

// artifact pushes a random image to a new registry and returns its
// repository and manifest digest.
func artifact(t *testing.T) (name.Repository, string) {
	t.Helper()
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{})
	repo, err := name.NewRepository(reg.Host()+"/org/app", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img := testserver.PushRandomImage(t, repo.Tag("v1").String(), nil)
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return repo, d.String()
}

// must is for set-up that cannot fail (key generation, encoding).
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// expectResult checks a verification's result or its error's text.
func expectResult(t *testing.T, r cosign.Result, err error, want string, wantErr []string) {
	t.Helper()
	if len(wantErr) > 0 {
		if err == nil {
			t.Fatalf("verified with %s, want an error", r)
		}
		t.Logf("refused: %v", err)
		for _, s := range wantErr {
			if !strings.Contains(err.Error(), s) {
				t.Fatalf("error %q, want it to contain %q", err, s)
			}
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if r.String() != want {
		t.Fatalf("verified with %s, want %s", r, want)
	}
}

// Key-pair signatures of every key type cosign makes verify through
// sigstore; another key's, a tampered payload, another artifact's payload
// and no signature are refused, each saying why.
func TestVerifyKey(t *testing.T) {
	ec := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	ec384 := must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))
	rs := must(rsa.GenerateKey(rand.Reader, 2048))
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	keys := map[string][]byte{}
	for n, k := range map[string]crypto.Signer{"ec.pub": ec, "ec384.pub": ec384, "rsa.pub": rs, "ed.pub": ed} {
		keys[n] = must(cosigntest.PublicKeyPEM(k))
	}
	trusted := must(cosign.PublicKeys(keys))

	for tcName, tc := range map[string]struct {
		sign    func(repo name.Repository, digest string) []cosigntest.Layer // nil: unsigned
		want    string
		wantErr []string
	}{
		"ECDSA P-256": {sign: byKey(ec), want: "key 'ec.pub'"},
		"ECDSA P-384": {sign: byKey(ec384), want: "key 'ec384.pub'"},
		"RSA":         {sign: byKey(rs), want: "key 'rsa.pub'"},
		"ed25519":     {sign: byKey(ed), want: "key 'ed.pub'"},
		"one of several layers": {sign: func(repo name.Repository, digest string) []cosigntest.Layer {
			return append(byKey(other)(repo, digest), byKey(rs)(repo, digest)...)
		}, want: "key 'rsa.pub'"},
		"wrong key": {sign: byKey(other), wantErr: []string{"no valid signature for", "the signature does not verify with any trusted key"}},
		"tampered payload": {sign: func(repo name.Repository, digest string) []cosigntest.Layer {
			l := byKey(ec)(repo, digest)
			l[0].Payload = []byte(strings.Replace(string(l[0].Payload), `"optional":null`, `"optional":{"by":"someone else"}`, 1))
			return l
		}, wantErr: []string{"the signature does not verify with any trusted key"}},
		"another artifact's payload": {sign: func(repo name.Repository, _ string) []cosigntest.Layer {
			return byKey(ec)(repo, "sha256:"+strings.Repeat("0", 64))
		}, wantErr: []string{"payload signed by 'ec.pub' is for digest 'sha256:0000"}},
		"unsigned": {wantErr: []string{"no signature found for", "no tag 'sha256-"}},
	} {
		t.Run(tcName, func(t *testing.T) {
			repo, digest := artifact(t)
			if tc.sign != nil {
				if err := cosigntest.Push(repo, digest, tc.sign(repo, digest)); err != nil {
					t.Fatal(err)
				}
			}
			r, err := cosign.Verify(context.Background(), repo, digest, cosign.Policy{Keys: trusted}, oci.Options{Insecure: true})
			expectResult(t, r, err, tc.want, tc.wantErr)
		})
	}
}

// byKey signs an artifact's payload with key.
func byKey(key crypto.Signer) func(name.Repository, string) []cosigntest.Layer {
	return func(repo name.Repository, digest string) []cosigntest.Layer {
		l, err := cosigntest.SignWithKey(cosigntest.Payload(repo, digest), key)
		if err != nil {
			panic(err)
		}
		return []cosigntest.Layer{l}
	}
}
