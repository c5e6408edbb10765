package git

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Signed is a Git object's OpenPGP signature and the bytes it signs, kept
// so verification can run after the repository is gone and per caller
// (each with its own keys) on a shared checkout.
type Signed struct {
	// Signature is the armored signature; empty when unsigned.
	Signature string
	// Payload is the object encoded without its signature.
	Payload []byte
}

// Tag is an annotated tag that was checked out.
type Tag struct {
	// Name is the tag name.
	Name string
	// Hash is the tag object hex.
	Hash string
	Signed
}

// ErrUnsigned means the object carries no signature.
var ErrUnsigned = errors.New("no signature")

// Verify checks the signature against armored OpenPGP key rings and
// returns the signing key's ID in hex.
func (s Signed) Verify(keyRings ...[]byte) (string, error) {
	if s.Signature == "" {
		return "", ErrUnsigned
	}
	var keys openpgp.EntityList
	for _, kr := range keyRings {
		el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(kr))
		if err != nil {
			return "", fmt.Errorf("unable to read armored key ring: %w", err)
		}
		keys = append(keys, el...)
	}
	if len(keys) == 0 {
		return "", errors.New("no public keys given")
	}
	signer, err := openpgp.CheckArmoredDetachedSignature(keys, bytes.NewReader(s.Payload), strings.NewReader(s.Signature), nil)
	if err != nil {
		return "", fmt.Errorf("signature not made by a trusted key: %w", err)
	}
	return signer.PrimaryKey.KeyIdString(), nil
}

// signedCommit captures c's signature and signed payload.
func signedCommit(c *object.Commit) (Signed, error) {
	if c.PGPSignature == "" {
		return Signed{}, nil
	}
	o := &plumbing.MemoryObject{}
	if err := c.EncodeWithoutSignature(o); err != nil {
		return Signed{}, err
	}
	payload, err := readObject(o)
	return Signed{Signature: c.PGPSignature, Payload: payload}, err
}

// signedTag captures t's signature and signed payload.
func signedTag(t *object.Tag) (Signed, error) {
	if t.PGPSignature == "" {
		return Signed{}, nil
	}
	o := &plumbing.MemoryObject{}
	if err := t.EncodeWithoutSignature(o); err != nil {
		return Signed{}, err
	}
	payload, err := readObject(o)
	return Signed{Signature: t.PGPSignature, Payload: payload}, err
}

func readObject(o *plumbing.MemoryObject) ([]byte, error) {
	r, err := o.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
