package cosign

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
)

func pemKey(t *testing.T, pub any) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func TestPublicKeys(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ed, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		data  map[string][]byte
		keys  []string
		error string
	}{
		"pub keys only":  {data: map[string][]byte{"b.pub": pemKey(t, &ec.PublicKey), "a.pub": pemKey(t, &ec.PublicKey), "notes": []byte("x")}, keys: []string{"a.pub", "b.pub"}},
		"every type":     {data: map[string][]byte{"ec.pub": pemKey(t, &ec.PublicKey), "ed.pub": pemKey(t, ed), "rsa.pub": pemKey(t, &rsaKey.PublicKey)}, keys: []string{"ec.pub", "ed.pub", "rsa.pub"}},
		"no pub key":     {data: map[string][]byte{"cosign.key": []byte("x")}, error: "no *.pub public key"},
		"not PEM":        {data: map[string][]byte{"cosign.pub": []byte("x")}, error: "key 'cosign.pub': not a PEM public key"},
		"X25519":         {data: map[string][]byte{"x.pub": pemKey(t, x.PublicKey())}, error: "key 'x.pub': *ecdh.PublicKey keys are not supported (want ECDSA, RSA or ed25519)"},
		"garbage in PEM": {data: map[string][]byte{"x.pub": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("x")})}, error: "key 'x.pub': "},
	} {
		t.Run(name, func(t *testing.T) {
			keys, err := PublicKeys(tc.data)
			if tc.error != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.error) {
					t.Fatalf("error %v, want %q", err, tc.error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, k := range keys {
				names = append(names, k.Name)
			}
			if strings.Join(names, ",") != strings.Join(tc.keys, ",") {
				t.Fatalf("keys %v, want %v", names, tc.keys)
			}
		})
	}
}
