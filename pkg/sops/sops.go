// Package sops decrypts SOPS-encrypted manifests and generator files with
// age and OpenPGP keys held in memory (from a Kubernetes Secret), the way
// kustomize-controller and the CLI's build need it. No key is read from
// the environment or the file system, no external program is run, and no
// decrypted value ever appears in an error.
package sops

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
	"github.com/ProtonMail/go-crypto/openpgp"
	pgparmor "github.com/ProtonMail/go-crypto/openpgp/armor"
	yamlv3 "go.yaml.in/yaml/v3"
)

// Key file suffixes in a decryption Secret, as in Flux.
const (
	AgeKeySuffix = ".agekey"
	PGPKeySuffix = ".asc"
)

// DecryptAnnotation set to "disabled" on an object leaves it encrypted.
const DecryptAnnotation = "kustomize.toolkit.fluxcd.io/decrypt"

// ErrDecryption is wrapped by every decryption failure.
var ErrDecryption = errors.New("decryption failed")

// Decryptor holds private keys and decrypts SOPS documents.
type Decryptor struct {
	age []age.Identity
	pgp openpgp.EntityList
}

// NewDecryptor reads keys from a Secret's data: entries named *.agekey
// hold age identities (one per line), *.asc armored OpenPGP private keys.
// Other entries are ignored. Errors name the entry, never its content.
func NewDecryptor(data map[string][]byte) (*Decryptor, error) {
	d := &Decryptor{}
	names := make([]string, 0, len(data))
	for n := range data {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := d.AddKey(n, data[n]); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// AddKey adds the key held in a Secret entry, chosen by its name suffix.
func (d *Decryptor) AddKey(name string, b []byte) error {
	switch {
	case strings.HasSuffix(name, AgeKeySuffix):
		ids, err := age.ParseIdentities(bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("key %q: not a valid age identity file", name)
		}
		d.age = append(d.age, ids...)
	case strings.HasSuffix(name, PGPKeySuffix):
		ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("key %q: not a valid armored OpenPGP key", name)
		}
		d.pgp = append(d.pgp, ring...)
	}
	return nil
}

// Empty reports whether no key was added.
func (d *Decryptor) Empty() bool { return len(d.age) == 0 && len(d.pgp) == 0 }

// format is a SOPS store chosen by file extension.
type format int

const (
	formatNone format = iota
	formatYAML
	formatJSON
	formatDotenv
)

func formatFor(name string) format {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml":
		return formatYAML
	case ".json":
		return formatJSON
	case ".env":
		return formatDotenv
	}
	return formatNone
}

// IsEncrypted reports whether a file's content carries SOPS metadata, by
// format: a top-level "sops" key (YAML, JSON) or "sops_mac" (dotenv).
func IsEncrypted(name string, b []byte) bool {
	switch formatFor(name) {
	case formatYAML:
		if !bytes.Contains(b, []byte("sops:")) {
			return false
		}
		return yamlHasTopLevel(b, "sops")
	case formatJSON:
		return bytes.Contains(b, []byte(`"sops"`)) && bytes.Contains(b, []byte(`"mac"`))
	case formatDotenv:
		return bytes.Contains(b, []byte("sops_mac="))
	}
	return false
}

func yamlHasTopLevel(b []byte, key string) bool {
	dec := yamlv3.NewDecoder(bytes.NewReader(b))
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			return false
		}
		if _, ok := doc[key]; ok {
			return true
		}
	}
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

// DecryptFile decrypts a SOPS-encrypted file (YAML, JSON or dotenv, by
// extension) and verifies its MAC. Files that are not encrypted, or that
// opt out with the decrypt annotation, are returned unchanged with
// decrypted false. Errors name the file and the cause, never a value.
func (d *Decryptor) DecryptFile(name string, b []byte) (out []byte, decrypted bool, err error) {
	f := formatFor(name)
	if f == formatNone || !IsEncrypted(name, b) {
		return b, false, nil
	}
	if f == formatYAML && decryptDisabled(b) {
		return b, false, nil
	}
	fail := func(format string, args ...any) ([]byte, bool, error) {
		return nil, false, fmt.Errorf("%w: %s: %s", ErrDecryption, name, fmt.Sprintf(format, args...))
	}
	if d == nil || d.Empty() {
		return fail("the file is SOPS-encrypted but no decryption key is configured (set spec.decryption with a secretRef holding *.agekey or *.asc keys)")
	}
	c, _ := codecFor(f)
	branches, md, err := c.loadEncrypted(b)
	if err != nil {
		return fail("invalid SOPS document: %s", safeErr(err))
	}
	key, err := d.dataKey(md)
	if err != nil {
		if len(md.keyGroups) > 1 {
			return fail("no configured keys can recover the data key: %s (%s)", err, md.recipients())
		}
		return fail("no configured key can decrypt the data key (%s)", md.recipients())
	}
	switch err := decryptTree(branches, md, key); {
	case errors.Is(err, errMAC):
		return fail("MAC mismatch: the file was modified after it was encrypted")
	case err != nil:
		return fail("cannot decrypt the values: the file may have been tampered with")
	}
	out, err = c.emit(branches)
	if err != nil {
		return fail("cannot write the decrypted document")
	}
	return out, true, nil
}

// dataKey recovers the key the values are encrypted with. With one key
// group, any of its keys that decrypts gives the key. With several, each
// group's keys encrypt one Shamir share, and enough shares (the file's
// shamir_threshold) give the key.
func (d *Decryptor) dataKey(md *metadata) ([]byte, error) {
	var shares [][]byte
	for _, g := range md.keyGroups {
		if s, ok := d.decryptGroup(g); ok {
			shares = append(shares, s)
		}
	}
	if len(md.keyGroups) == 1 {
		if len(shares) != 1 {
			return nil, errors.New("no key of the group decrypts")
		}
		return shares[0], nil
	}
	threshold := md.shamirThreshold
	if threshold == 0 {
		threshold = len(md.keyGroups) // what SOPS writes when none is given
	}
	if len(shares) < threshold {
		return nil, fmt.Errorf("keys of %d of %d key groups decrypt, %d needed", len(shares), len(md.keyGroups), threshold)
	}
	return shamirCombine(shares)
}

// decryptGroup returns the share of the first key of the group that
// decrypts; all keys of a group encrypt the same share.
func (d *Decryptor) decryptGroup(g []masterKey) ([]byte, bool) {
	for _, k := range g {
		var (
			pt  []byte
			err error
		)
		switch k.kind {
		case "age":
			pt, err = d.decryptAge([]byte(k.enc))
		case "pgp":
			pt, err = d.decryptPGP([]byte(k.enc))
		default:
			continue // cloud and Vault keys need their services
		}
		if err == nil {
			return pt, true
		}
	}
	return nil, false
}

func shorten(s string) string {
	if len(s) > 24 {
		return s[:12] + "…" + s[len(s)-8:]
	}
	return s
}

// safeErr keeps only the first line of a store error; store errors
// describe structure, not values.
func safeErr(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

func (d *Decryptor) decryptAge(ciphertext []byte) ([]byte, error) {
	if len(d.age) == 0 {
		return nil, errors.New("no age identity")
	}
	r, err := age.Decrypt(armor.NewReader(bytes.NewReader(ciphertext)), d.age...)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func (d *Decryptor) decryptPGP(ciphertext []byte) ([]byte, error) {
	if len(d.pgp) == 0 {
		return nil, errors.New("no OpenPGP key")
	}
	block, err := pgparmor.Decode(bytes.NewReader(ciphertext))
	if err != nil {
		return nil, err
	}
	md, err := openpgp.ReadMessage(block.Body, d.pgp, nil, nil)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(md.UnverifiedBody)
}
