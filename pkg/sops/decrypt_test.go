package sops

import (
	"bytes"
	"errors"
	"reflect"
	"regexp"
	"testing"

	"filippo.io/age"
	. "github.com/onsi/gomega"

	"gotk.dev/pkg/sops/sopstest"
)

// TestShamirKeyGroups: a file whose data key is split over key groups
// decrypts with keys of threshold-many groups and not with fewer.
func TestShamirKeyGroups(t *testing.T) {
	ids := make([]*age.X25519Identity, 3)
	keys := make([][]byte, 3)
	for i := range ids {
		ids[i], keys[i] = newAge(t)
	}
	group := func(i int) sopstest.Recipients {
		return sopstest.Recipients{Age: []string{ids[i].Recipient().String()}}
	}
	enc, err := sopstest.Encrypt("s.yaml", []byte(secret), group(0), sopstest.Options{
		EncryptedRegex: "^(data|stringData)$",
		MoreGroups:     []sopstest.Recipients{group(1), group(2)},
		Threshold:      2,
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		keys    map[string][]byte
		wantErr string
	}{
		{name: "groups 1 and 3", keys: map[string][]byte{"a.agekey": keys[0], "c.agekey": keys[2]}},
		{name: "all groups", keys: map[string][]byte{"a.agekey": keys[0], "b.agekey": keys[1], "c.agekey": keys[2]}},
		{name: "one group of the two needed", keys: map[string][]byte{"b.agekey": keys[1]}, wantErr: "keys of 1 of 3 key groups decrypt, 2 needed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			d, err := NewDecryptor(tt.keys)
			g.Expect(err).NotTo(HaveOccurred())
			out, _, err := d.DecryptFile("s.yaml", enc)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(meaning(t, "s.yaml", out)).To(Equal(meaning(t, "s.yaml", []byte(secret))))
		})
	}
}

// TestTampered: any change to a value, its place, the MAC or the
// modification time is refused, naming no value.
func TestTampered(t *testing.T) {
	id, key := newAge(t)
	plain := "stringData:\n  password: hunter2\n  user: admin\n"
	enc, err := sopstest.Encrypt("s.yaml", []byte(plain), sopstest.Recipients{Age: []string{id.Recipient().String()}}, sopstest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDecryptor(map[string][]byte{"k.agekey": key})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.DecryptFile("s.yaml", enc); err != nil {
		t.Fatalf("untampered file: %v", err)
	}
	value := regexp.MustCompile(`(password|user): (ENC\[[^\]]+\])`)
	m := value.FindAllSubmatch(enc, -1)
	if len(m) != 2 {
		t.Fatalf("want two encrypted values, got %d in\n%s", len(m), enc)
	}
	flip := func(b []byte, at int) []byte {
		c := bytes.Clone(b)
		if c[at] == 'A' {
			c[at] = 'B'
		} else {
			c[at] = 'A'
		}
		return c
	}
	dataAt := bytes.Index(enc, []byte("data:")) + len("data:") + 2 // inside the first ciphertext
	macAt := bytes.Index(enc, []byte("mac: ENC[AES256_GCM,data:")) + len("mac: ENC[AES256_GCM,data:") + 2
	tests := []struct {
		name    string
		in      []byte
		wantErr string
	}{
		{name: "a ciphertext byte", in: flip(enc, dataAt), wantErr: "cannot decrypt the values"},
		{name: "values swapped between keys", in: bytes.Replace(bytes.Replace(enc, m[0][2], []byte("SWAP"), 1), m[1][2], m[0][2], 1), wantErr: "cannot decrypt the values"},
		{name: "a value in plain text", in: value.ReplaceAll(enc, []byte("$1: plain")), wantErr: "cannot decrypt the values"},
		{name: "a value removed", in: regexp.MustCompile(`(?m)^ +user: .*\n`).ReplaceAll(enc, nil), wantErr: "MAC mismatch"},
		{name: "the MAC", in: flip(enc, macAt), wantErr: "MAC"},
		{name: "the modification time", in: regexp.MustCompile(`lastmodified: "?[0-9T:Z-]+"?`).ReplaceAll(enc, []byte(`lastmodified: "2001-01-01T00:00:00Z"`)), wantErr: "MAC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(bytes.Equal(tt.in, enc)).To(BeFalse(), "the test changed nothing")
			_, _, err := d.DecryptFile("s.yaml", tt.in)
			g.Expect(err).To(HaveOccurred())
			g.Expect(errors.Is(err, ErrDecryption)).To(BeTrue())
			g.Expect(err.Error()).To(ContainSubstring(tt.wantErr))
			g.Expect(err.Error()).NotTo(ContainSubstring("hunter2"))
			g.Expect(err.Error()).NotTo(ContainSubstring("admin"))
		})
	}
}

// FuzzDecryptLikeSOPS encrypts fuzzed documents with the SOPS library
// and decrypts them both with SOPS and with this package: whatever SOPS
// decrypts, this package decrypts to the same document.
func FuzzDecryptLikeSOPS(f *testing.F) {
	f.Add("s.yaml", []byte(secret), "^(data|stringData)$")
	f.Add("s.yaml", []byte("a: 1 # c\nb: [x, {y: z}, 2.5, true, null]\n---\nc: ~\n"), "")
	f.Add("s.yaml", []byte("# top\nk: v\n# enc\nsecret: s\n"), "")
	f.Add("s.json", []byte(`{"a": [1, 2.5, "s", null, {"b": true}], "c": {}}`), "")
	f.Add("s.env", []byte("#c\nA=1\nB=two words\n"), "")
	id, err := age.GenerateX25519Identity()
	if err != nil {
		f.Fatal(err)
	}
	d, err := NewDecryptor(map[string][]byte{"k.agekey": []byte(id.String())})
	if err != nil {
		f.Fatal(err)
	}
	r := sopstest.Recipients{Age: []string{id.Recipient().String()}}
	f.Fuzz(func(t *testing.T, name string, plain []byte, encryptedRegex string) {
		if _, err := regexp.Compile(encryptedRegex); err != nil {
			return
		}
		enc, key, err := sopstest.EncryptWithKey(name, plain, r, sopstest.Options{EncryptedRegex: encryptedRegex})
		if err != nil {
			return // not a document SOPS encrypts
		}
		want, err := sopstest.Decrypt(name, enc, key)
		if err != nil {
			return // SOPS cannot read back what it wrote
		}
		got, decrypted, err := d.DecryptFile(name, enc)
		if err != nil {
			t.Fatalf("SOPS decrypts it, this package does not: %v\n%s", err, enc)
		}
		if !decrypted {
			t.Fatalf("not recognised as SOPS-encrypted:\n%s", enc)
		}
		if gm, wm := meaning(t, name, got), meaning(t, name, want); !reflect.DeepEqual(gm, wm) {
			t.Fatalf("decrypted differently\nthis package: %s\nSOPS: %s", got, want)
		}
	})
}
