package cosign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Key is a trusted public key and the Secret key it came from.
type Key struct {
	// Name is the Secret data key, e.g. cosign.pub.
	Name string
	// Public is the parsed key.
	Public crypto.PublicKey
	// verifier checks signatures as cosign makes them with this key.
	verifier signature.Verifier
}

// PublicKeys reads the PEM public keys of a Secret's *.pub keys, sorted
// by name. ECDSA, RSA and ed25519 keys are accepted, as cosign makes them.
func PublicKeys(data map[string][]byte) ([]Key, error) {
	var keys []Key
	for name, value := range data {
		if !strings.HasSuffix(name, ".pub") {
			continue
		}
		k, err := ParsePublicKey(name, value)
		if err != nil {
			return nil, fmt.Errorf("key '%s': %w", name, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no *.pub public key")
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Name < keys[j].Name })
	return keys, nil
}

// ParsePublicKey reads one PEM public key (PKIX, or PKCS#1 for RSA).
func ParsePublicKey(name string, data []byte) (Key, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(data)
	if err != nil {
		return Key{}, errors.New("not a PEM public key")
	}
	// cosign signs with SHA-256 whatever the key's size or curve; ed25519
	// signs the payload itself.
	var v signature.Verifier
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		v, err = signature.LoadECDSAVerifier(k, crypto.SHA256)
	case *rsa.PublicKey:
		v, err = signature.LoadRSAPKCS1v15Verifier(k, crypto.SHA256)
	case ed25519.PublicKey:
		v, err = signature.LoadED25519Verifier(k)
	default:
		return Key{}, fmt.Errorf("%T keys are not supported (want ECDSA, RSA or ed25519)", pub)
	}
	if err != nil {
		return Key{}, err
	}
	return Key{Name: name, Public: pub, verifier: v}, nil
}
