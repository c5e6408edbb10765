// Package sopstest encrypts documents for tests with the SOPS library's
// own stores and master keys (age, OpenPGP, and any other key source
// given ready to encrypt), so what it writes is what the sops CLI writes.
// Only tests link it.
package sopstest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	pgparmor "github.com/ProtonMail/go-crypto/openpgp/armor"
	sopsv3 "github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/keys"
	sopspgp "github.com/getsops/sops/v3/pgp"
	"github.com/getsops/sops/v3/shamir"
	"github.com/getsops/sops/v3/stores/dotenv"
	"github.com/getsops/sops/v3/stores/ini"
	sopsjson "github.com/getsops/sops/v3/stores/json"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
)

// Recipients are the public keys a document is encrypted for.
type Recipients struct {
	// Age recipients ("age1…").
	Age []string
	// PGP holds armored OpenPGP public keys.
	PGP [][]byte
	// Keys are other master keys of the SOPS library (AWS KMS, GCP KMS,
	// Azure Key Vault, Vault), ready to encrypt: each encrypts the data
	// key by calling its service.
	Keys []keys.MasterKey
}

// Options select what is encrypted and how the MAC is computed, as the
// sops CLI's flags of the same names do. The zero value encrypts every value.
type Options struct {
	// EncryptedRegex limits encryption to keys matching it, e.g.
	// "^(data|stringData)$".
	EncryptedRegex string
	// UnencryptedSuffix leaves keys ending in it in plain text.
	UnencryptedSuffix string
	// EncryptedCommentRegex encrypts only values after a matching comment.
	EncryptedCommentRegex string
	// MACOnlyEncrypted computes the MAC over encrypted values only.
	MACOnlyEncrypted bool
	// MoreGroups, when set, makes the Recipients given to Encrypt the
	// first of several key groups: the data key is split with Shamir's
	// secret sharing, one share per group (`sops --shamir-secret-sharing-threshold`).
	MoreGroups []Recipients
	// Threshold is the number of groups needed to recover the key
	// (0: all of them).
	Threshold int
}

type store interface {
	LoadPlainFile(in []byte) (sopsv3.TreeBranches, error)
	EmitEncryptedFile(sopsv3.Tree) ([]byte, error)
	LoadEncryptedFile(in []byte) (sopsv3.Tree, error)
	EmitPlainFile(sopsv3.TreeBranches) ([]byte, error)
}

// storeFor picks the store by extension as the sops CLI does: binary
// for names it does not know.
func storeFor(name string) store {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml":
		return sopsyaml.NewStore(&config.YAMLStoreConfig{})
	case ".json":
		return sopsjson.NewStore(&config.JSONStoreConfig{})
	case ".env":
		return dotenv.NewStore(&config.DotenvStoreConfig{})
	case ".ini":
		return ini.NewStore(&config.INIStoreConfig{})
	}
	return sopsjson.NewBinaryStore(&config.JSONBinaryStoreConfig{})
}

// Encrypt encrypts a YAML, JSON, dotenv, INI or binary file (by name) for the
// recipients, as `sops --encrypt` does. It uses no key service, agent or
// external program.
func Encrypt(name string, plain []byte, r Recipients, o Options) ([]byte, error) {
	enc, _, err := EncryptWithKey(name, plain, r, o)
	return enc, err
}

// EncryptWithKey is Encrypt that also returns the data key, so a test
// can decrypt the file with SOPS (Decrypt) and compare.
func EncryptWithKey(name string, plain []byte, r Recipients, o Options) (enc, dataKey []byte, err error) {
	st := storeFor(name)
	branches, err := st.LoadPlainFile(plain)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	dataKey = make([]byte, 32)
	if _, err := rand.Read(dataKey); err != nil {
		return nil, nil, err
	}
	all := append([]Recipients{r}, o.MoreGroups...)
	shares := [][]byte{dataKey}
	if len(all) > 1 {
		threshold := o.Threshold
		if threshold == 0 {
			threshold = len(all)
		}
		if shares, err = shamir.Split(dataKey, len(all), threshold); err != nil {
			return nil, nil, err
		}
	}
	var groups []sopsv3.KeyGroup
	for i, rec := range all {
		group, err := keyGroup(rec, shares[i])
		if err != nil {
			return nil, nil, err
		}
		groups = append(groups, group)
	}
	tree := sopsv3.Tree{Branches: branches, Metadata: sopsv3.Metadata{
		KeyGroups:             groups,
		ShamirThreshold:       o.Threshold,
		EncryptedRegex:        o.EncryptedRegex,
		UnencryptedSuffix:     o.UnencryptedSuffix,
		EncryptedCommentRegex: o.EncryptedCommentRegex,
		MACOnlyEncrypted:      o.MACOnlyEncrypted,
		Version:               "3.13.3",
	}}
	cipher := aes.NewCipher()
	mac, err := tree.Encrypt(dataKey, cipher)
	if err != nil {
		return nil, nil, err
	}
	tree.Metadata.LastModified = time.Now().UTC()
	tree.Metadata.MessageAuthenticationCode, err = cipher.Encrypt(mac, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil {
		return nil, nil, err
	}
	enc, err = st.EmitEncryptedFile(tree)
	return enc, dataKey, err
}

// Decrypt decrypts a file with SOPS's own stores and cipher, given its
// data key, and checks its MAC as `sops --decrypt` does.
func Decrypt(name string, enc, dataKey []byte) ([]byte, error) {
	st := storeFor(name)
	tree, err := st.LoadEncryptedFile(enc)
	if err != nil {
		return nil, err
	}
	cipher := aes.NewCipher()
	mac, err := tree.Decrypt(dataKey, cipher)
	if err != nil {
		return nil, err
	}
	stored, err := cipher.Decrypt(tree.Metadata.MessageAuthenticationCode, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil {
		return nil, err
	}
	if stored != mac {
		return nil, fmt.Errorf("MAC mismatch")
	}
	return st.EmitPlainFile(tree.Branches)
}

// keyGroup wraps one (share of the) data key for every recipient.
func keyGroup(r Recipients, key []byte) (sopsv3.KeyGroup, error) {
	var group sopsv3.KeyGroup
	for _, rec := range r.Age {
		mk, err := sopsage.MasterKeyFromRecipient(rec)
		if err != nil {
			return nil, err
		}
		if err := mk.Encrypt(key); err != nil {
			return nil, err
		}
		group = append(group, mk)
	}
	for _, pub := range r.PGP {
		mk, err := pgpMasterKey(pub, key)
		if err != nil {
			return nil, err
		}
		group = append(group, mk)
	}
	for _, mk := range r.Keys {
		if err := mk.Encrypt(key); err != nil {
			return nil, fmt.Errorf("encrypting the data key with %s: %w", mk.ToString(), err)
		}
		group = append(group, mk)
	}
	if len(group) == 0 {
		return nil, fmt.Errorf("a key group without recipients")
	}
	return group, nil
}

// pgpMasterKey wraps the data key for an OpenPGP public key.
func pgpMasterKey(armored, dataKey []byte) (keys.MasterKey, error) {
	ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(armored))
	if err != nil || len(ring) == 0 {
		return nil, fmt.Errorf("not a valid armored OpenPGP public key")
	}
	var buf bytes.Buffer
	aw, err := pgparmor.Encode(&buf, "PGP MESSAGE", nil)
	if err != nil {
		return nil, err
	}
	w, err := openpgp.Encrypt(aw, ring[:1], nil, nil, nil)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(dataKey); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	mk := sopspgp.NewMasterKeyFromFingerprint(strings.ToUpper(hex.EncodeToString(ring[0].PrimaryKey.Fingerprint)))
	mk.SetEncryptedDataKey(buf.Bytes())
	return mk, nil
}
