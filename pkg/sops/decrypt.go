package sops

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// macOnlyEncryptedPrefix starts the MAC hash of files with
// mac_only_encrypted set, so such a MAC never equals the MAC over all
// values. The bytes are SOPS's.
var macOnlyEncryptedPrefix = []byte{
	0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
	0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
}

// encryptedValue is the format SOPS writes an encrypted value in. SOPS
// anchors it at the start only, and so does this.
var encryptedValue = regexp.MustCompile(`^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`)

// errValue and errMAC separate a value that does not decrypt from a MAC
// that does not match; neither carries a value.
var (
	errValue = errors.New("a value does not decrypt")
	errMAC   = errors.New("MAC mismatch")
)

// rules decide, per leaf, whether SOPS encrypted it.
type rules struct {
	unencryptedSuffix, encryptedSuffix string
	// A regex that does not compile never matches, as in SOPS, which
	// ignores the compile error; set says the rule was given at all.
	unencryptedRegex, encryptedRegex               rule
	unencryptedCommentRegex, encryptedCommentRegex rule
}

type rule struct {
	set bool
	re  *regexp.Regexp
}

func newRule(s string) rule {
	if s == "" {
		return rule{}
	}
	re, _ := regexp.Compile(s)
	return rule{set: true, re: re}
}

func (r rule) match(s string) bool { return r.re != nil && r.re.MatchString(s) }

// encrypted applies the rules in SOPS's order, later ones overriding
// earlier ones (metadata parsing allows only one, so order rarely
// matters). path holds the keys from the document root; comments holds,
// per nesting level, the comments seen since that level's last value.
func (r *rules) encrypted(path []string, comments [][]string, isComment bool) bool {
	enc := true
	if r.unencryptedSuffix != "" {
		for _, p := range path {
			if strings.HasSuffix(p, r.unencryptedSuffix) {
				enc = false
				break
			}
		}
	}
	if r.encryptedSuffix != "" {
		enc = false
		for _, p := range path {
			if strings.HasSuffix(p, r.encryptedSuffix) {
				enc = true
				break
			}
		}
	}
	if r.unencryptedRegex.set {
		for _, p := range path {
			if r.unencryptedRegex.match(p) {
				enc = false
				break
			}
		}
	}
	if r.encryptedRegex.set {
		enc = false
		for _, p := range path {
			if r.encryptedRegex.match(p) {
				enc = true
				break
			}
		}
	}
	if r.unencryptedCommentRegex.set && anyComment(comments, r.unencryptedCommentRegex, false) {
		enc = false
	}
	if r.encryptedCommentRegex.set {
		// A comment that matches the regex stays readable itself: it is
		// the marker, so it is skipped when judging that very comment.
		enc = anyComment(comments, r.encryptedCommentRegex, isComment)
	}
	return enc
}

// anyComment reports whether a comment on the stack matches; skipLast
// leaves out the most recent comment.
func anyComment(stack [][]string, r rule, skipLast bool) bool {
	for i, level := range stack {
		for j, c := range level {
			if skipLast && i == len(stack)-1 && j == len(level)-1 {
				continue
			}
			if r.match(c) {
				return true
			}
		}
	}
	return false
}

// decryptor walks a tree in document order, decrypting in place what the
// rules say was encrypted and hashing values for the MAC exactly as SOPS
// does: a MAC only verifies if the walk matches SOPS's leaf for leaf.
type decryptor struct {
	rules   rules
	macOnly bool
	aead    func(nonceSize int) (cipher.AEAD, error)
	mac     hash.Hash
}

// decryptTree decrypts all branches and checks the MAC. It fails with
// errValue or errMAC.
func decryptTree(branches []treeBranch, md *metadata, key []byte) error {
	block, err := aes.NewCipher(key)
	if err != nil {
		return errValue
	}
	d := &decryptor{
		rules: rules{
			unencryptedSuffix:       md.unencryptedSuffix,
			encryptedSuffix:         md.encryptedSuffix,
			unencryptedRegex:        newRule(md.unencryptedRegex),
			encryptedRegex:          newRule(md.encryptedRegex),
			unencryptedCommentRegex: newRule(md.unencryptedCommentRegex),
			encryptedCommentRegex:   newRule(md.encryptedCommentRegex),
		},
		macOnly: md.macOnlyEnc,
		aead:    func(n int) (cipher.AEAD, error) { return cipher.NewGCMWithNonceSize(block, n) },
		mac:     sha512.New(),
	}
	if d.macOnly {
		d.mac.Write(macOnlyEncryptedPrefix)
	}
	for _, b := range branches {
		if err := d.branch(b, nil, nil); err != nil {
			return err
		}
	}
	want := fmt.Sprintf("%X", d.mac.Sum(nil))
	// The stored MAC is itself encrypted, bound to the modification time
	// as SOPS formats it.
	got, err := d.open(md.mac, md.lastModified.Format(time.RFC3339))
	s, ok := got.(string)
	if err != nil || !ok || subtle.ConstantTimeCompare([]byte(s), []byte(want)) != 1 {
		return errMAC
	}
	return nil
}

// branch walks a mapping. Each level gets its own list of pending
// comments, emptied after every value at that level.
func (d *decryptor) branch(b treeBranch, path []string, comments [][]string) error {
	comments = append(comments, nil)
	top := len(comments) - 1
	for i := range b {
		it := &b[i]
		if c, ok := it.key.(comment); ok {
			comments[top] = append(comments[top], c.value)
			v, err := d.leaf(c, path, comments)
			if err != nil {
				return err
			}
			switch v := v.(type) {
			case comment:
				it.key = v
			case string:
				it.key = comment{value: v, inline: c.inline}
			default:
				return errValue
			}
			continue
		}
		// Our codecs never make a comment a mapping value, but SOPS's
		// walk allows it, and treats it like a comment item.
		cv, valueIsComment := it.value.(comment)
		if valueIsComment {
			comments[top] = append(comments[top], cv.value)
		}
		k, ok := it.key.(string)
		if !ok {
			return fmt.Errorf("a key is not a string (%T)", it.key)
		}
		v, err := d.value(it.value, append(path, k), comments)
		if err != nil {
			return err
		}
		it.value = v
		if !valueIsComment {
			comments[top] = nil
		}
	}
	return nil
}

// list walks a sequence; comments in it are items of their own.
func (d *decryptor) list(l []any, path []string, comments [][]string) error {
	comments = append(comments, nil)
	top := len(comments) - 1
	for i, e := range l {
		c, isComment := e.(comment)
		if isComment {
			comments[top] = append(comments[top], c.value)
		}
		v, err := d.value(e, path, comments)
		if err != nil {
			return err
		}
		l[i] = v
		if !isComment {
			comments[top] = nil
		}
	}
	return nil
}

func (d *decryptor) value(v any, path []string, comments [][]string) (any, error) {
	switch v := v.(type) {
	case nil:
		// SOPS neither encrypts nor hashes a null.
		return nil, nil
	case treeBranch:
		return v, d.branch(v, path, comments)
	case []any:
		return v, d.list(v, path, comments)
	case []byte:
		return d.leaf(string(v), path, comments)
	case string, int, bool, float64, time.Time, comment:
		return d.leaf(v, path, comments)
	}
	return nil, fmt.Errorf("a value has an unsupported type (%T)", v)
}

// leaf decrypts one scalar or comment if it was encrypted and adds it to
// the MAC unless it is a comment.
func (d *decryptor) leaf(in any, path []string, comments [][]string) (any, error) {
	c, isComment := in.(comment)
	enc := d.rules.encrypted(path, comments, isComment)
	v := in
	if enc {
		ad := strings.Join(path, ":") + ":"
		var err error
		switch in := in.(type) {
		case comment:
			// Comments written by old SOPS versions are not encrypted:
			// SOPS keeps a comment that does not decrypt as it is.
			if v, err = d.open(c.value, ad); err != nil {
				v = in
			}
		case string:
			if v, err = d.open(in, ad); err != nil {
				return nil, errValue
			}
		default:
			return nil, errValue
		}
	}
	if !d.macOnly || enc {
		// A list item can decrypt to a comment; those are never hashed.
		if _, ok := v.(comment); !ok {
			b, err := macBytes(v)
			if err != nil {
				return nil, err
			}
			d.mac.Write(b)
		}
	}
	return v, nil
}

// open decrypts one ENC[AES256_GCM,…] value into its typed plain value;
// an empty string stands for an empty value, as SOPS writes it.
func (d *decryptor) open(s, additionalData string) (any, error) {
	if s == "" {
		return "", nil
	}
	m := encryptedValue.FindStringSubmatch(s)
	if m == nil {
		return nil, errValue
	}
	var parts [3][]byte
	for i := range parts {
		b, err := base64.StdEncoding.DecodeString(m[i+1])
		if err != nil {
			return nil, errValue
		}
		parts[i] = b
	}
	data, iv, tag := parts[0], parts[1], parts[2]
	// SOPS writes 32-byte IVs; it reads any length, and so does this.
	aead, err := d.aead(len(iv))
	if err != nil {
		return nil, errValue
	}
	plain, err := aead.Open(nil, iv, append(data, tag...), []byte(additionalData))
	if err != nil {
		return nil, errValue
	}
	text := string(plain)
	var v any
	switch m[4] {
	case "str":
		v = text
	case "int":
		v, err = strconv.Atoi(text)
	case "float":
		v, err = strconv.ParseFloat(text, 64)
	case "bytes":
		// Hashed as the same bytes; written back out as text.
		v = text
	case "bool":
		v, err = strconv.ParseBool(text)
	case "time":
		var t time.Time
		err = t.UnmarshalText(plain)
		v = t
	case "comment":
		v = comment{value: text}
	default:
		return nil, errValue
	}
	if err != nil {
		return nil, errValue
	}
	return v, nil
}

// macBytes is how SOPS feeds a plain value into the MAC.
func macBytes(v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return []byte(v), nil
	case int:
		return []byte(strconv.Itoa(v)), nil
	case float64:
		return []byte(strconv.FormatFloat(v, 'f', -1, 64)), nil
	case bool:
		if v {
			return []byte("True"), nil
		}
		return []byte("False"), nil
	case []byte:
		return v, nil
	case time.Time:
		return v.MarshalText()
	}
	return nil, fmt.Errorf("a value has an unsupported type (%T)", v)
}
