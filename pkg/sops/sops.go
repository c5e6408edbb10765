// Package sops decrypts SOPS-encrypted manifests and generator files the
// way kustomize-controller does, through the SOPS library
// (github.com/getsops/sops/v3): its stores, key sources, tree decryption
// and MAC check. What the library does not offer lives here: a key
// service holding the keys of a decryption Secret in memory, and errors
// that name the file, the key type and the failure, never a key or a
// decrypted value.
//
// It links every SOPS key source (age, OpenPGP, AWS KMS, GCP KMS, Azure
// Key Vault, HashiCorp Vault) and their cloud SDKs, so only
// kustomize-controller imports it; keep it out of pkg's common packages.
package sops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	sopsv3 "github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/keyservice"
	"github.com/getsops/sops/v3/stores/dotenv"
	"github.com/getsops/sops/v3/stores/ini"
	sopsjson "github.com/getsops/sops/v3/stores/json"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
	yamlv3 "go.yaml.in/yaml/v3"
)

// DecryptAnnotation set to "disabled" on an object leaves it encrypted.
const DecryptAnnotation = "kustomize.toolkit.fluxcd.io/decrypt"

// ErrDecryption is wrapped by every decryption failure.
var ErrDecryption = errors.New("decryption failed")

// DefaultTimeout bounds the key service calls of one file.
const DefaultTimeout = 30 * time.Second

// Format is a SOPS store, chosen by file extension as the sops CLI does.
type Format int

// The formats SOPS writes.
const (
	FormatBinary Format = iota
	FormatYAML
	FormatJSON
	FormatDotenv
	FormatINI
)

// FormatFor returns the store of a file name: .yaml/.yml, .json, .env,
// .ini, and binary for any other name.
func FormatFor(name string) Format {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml":
		return FormatYAML
	case ".json":
		return FormatJSON
	case ".env":
		return FormatDotenv
	case ".ini":
		return FormatINI
	}
	return FormatBinary
}

// store is what decryption needs of a SOPS store.
type store interface {
	LoadEncryptedFile(in []byte) (sopsv3.Tree, error)
	EmitPlainFile(sopsv3.TreeBranches) ([]byte, error)
}

func storeFor(f Format) store {
	switch f {
	case FormatYAML:
		return sopsyaml.NewStore(&config.YAMLStoreConfig{})
	case FormatJSON:
		return sopsjson.NewStore(&config.JSONStoreConfig{})
	case FormatDotenv:
		return dotenv.NewStore(&config.DotenvStoreConfig{})
	case FormatINI:
		return ini.NewStore(&config.INIStoreConfig{})
	}
	return sopsjson.NewBinaryStore(&config.JSONBinaryStoreConfig{})
}

// markers are the bytes the encrypted MAC starts with in each store; a
// file without them is not SOPS-encrypted and is left alone. A binary
// file is encrypted into SOPS's JSON.
var markers = map[Format][]byte{
	FormatYAML:   []byte("mac: ENC["),
	FormatJSON:   []byte(`"mac": "ENC[`),
	FormatDotenv: []byte("sops_mac=ENC["),
	FormatINI:    []byte("[sops]"),
	FormatBinary: []byte(`"mac": "ENC[`),
}

// IsEncrypted reports whether a file's content carries SOPS metadata for
// the store its name selects.
func IsEncrypted(name string, b []byte) bool {
	if !bytes.Contains(b, markers[FormatFor(name)]) {
		return false
	}
	_, err := storeFor(FormatFor(name)).LoadEncryptedFile(b)
	return !errors.Is(err, sopsv3.MetadataNotFound)
}

// decryptDisabled reports whether a YAML manifest opts out through the
// decrypt annotation.
func decryptDisabled(b []byte) bool {
	var doc struct {
		Metadata struct {
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"metadata"`
	}
	if err := yamlv3.Unmarshal(b, &doc); err != nil {
		return false
	}
	return strings.EqualFold(doc.Metadata.Annotations[DecryptAnnotation], "disabled")
}

// DecryptFile decrypts a SOPS-encrypted file (its store chosen by
// extension) and verifies its MAC. Files that are not encrypted, or YAML
// manifests that opt out with the decrypt annotation, are returned
// unchanged with decrypted false. A nil Decryptor (no spec.decryption)
// refuses every encrypted file. Errors name the file and the cause,
// never a value.
func (d *Decryptor) DecryptFile(name string, b []byte) (out []byte, decrypted bool, err error) {
	f := FormatFor(name)
	if !bytes.Contains(b, markers[f]) {
		return b, false, nil
	}
	st := storeFor(f)
	tree, err := st.LoadEncryptedFile(b)
	if errors.Is(err, sopsv3.MetadataNotFound) {
		return b, false, nil
	}
	if f == FormatYAML && decryptDisabled(b) {
		return b, false, nil
	}
	fail := func(format string, args ...any) ([]byte, bool, error) {
		return nil, false, fmt.Errorf("%w: %s: %s", ErrDecryption, name, fmt.Sprintf(format, args...))
	}
	if err != nil {
		return fail("invalid SOPS document: %s", firstLine(err))
	}
	if d == nil {
		return fail("the file is SOPS-encrypted but no decryption key is configured (set spec.decryption with a secretRef holding the keys)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), d.timeout())
	defer cancel()
	rec := &recorder{ctx: ctx, server: d.server}
	key, err := tree.Metadata.GetDataKeyWithKeyServices([]keyservice.KeyServiceClient{keyservice.NewCustomLocalClient(rec)}, sopsv3.DefaultDecryptionOrder)
	if err != nil {
		return fail("no key can decrypt the data key: %s", rec.summary(len(tree.Metadata.KeyGroups), tree.Metadata.ShamirThreshold))
	}
	cipher := aes.NewCipher()
	mac, err := tree.Decrypt(key, cipher)
	if err != nil {
		return fail("cannot decrypt the values: the file may have been tampered with")
	}
	stored, err := cipher.Decrypt(tree.Metadata.MessageAuthenticationCode, key, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil || stored != mac {
		return fail("MAC mismatch: the file was modified after it was encrypted")
	}
	out, err = st.EmitPlainFile(tree.Branches)
	if err != nil {
		return fail("cannot write the decrypted document")
	}
	return out, true, nil
}

// firstLine keeps only the first line of a store error; store errors
// describe structure, and an encrypted file's values are ciphertext.
func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
