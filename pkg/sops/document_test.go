package sops

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"filippo.io/age"
	. "github.com/onsi/gomega"
	yamlv3 "go.yaml.in/yaml/v3"

	"gotk.dev/pkg/sops/sopstest"
)

// TestDifferentialFormats encrypts a corpus with the SOPS library, in
// every format it writes, and decrypts it through this package: the
// decrypted document must mean what the plain one meant.
func TestDifferentialFormats(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDecryptor(map[string][]byte{"k.agekey": []byte(id.String())})
	if err != nil {
		t.Fatal(err)
	}
	r := sopstest.Recipients{Age: []string{id.Recipient().String()}}

	const commented = `# head of the document
apiVersion: v1 # inline after a value
kind: Secret
metadata:
  # before a key
  name: db
  labels: {app: db}
stringData:
  password: hunter2
  # between keys
  pin: "0042"
data:
  list:
    # before an item
    - one # inline item
    - 2
    - 3.5
    - true
    - null
    - {nested: map, n: 1}
  # foot of data
# foot of the document
`
	tests := []struct {
		name, file, plain string
		opts              sopstest.Options
		// libraryTypes: SOPS's YAML store writes some scalars back in
		// another form (1.0 as 1, 1.5e3 as 1500, a date as a
		// timestamp), so only SOPS's own decryption is the reference.
		libraryTypes bool
	}{
		{name: "yaml Secret, data only", file: "s.yaml", plain: secret, opts: sopstest.Options{EncryptedRegex: "^(data|stringData)$"}},
		{name: "yaml all values, comments everywhere", file: "s.yaml", plain: commented},
		{name: "yaml comments, encrypted regex", file: "s.yml", plain: commented, opts: sopstest.Options{EncryptedRegex: "^(data|stringData)$"}},
		{name: "yaml typed scalars", file: "t.yaml", plain: "int: 3\nneg: -7\nfloat: 1.0\nexp: 1.5e3\nbool: false\nyes: yes\nnothing: ~\nempty: \"\"\nquoted: \"3\"\ndate: 2024-01-02\nmultiline: |\n  line one\n  line two\nunicode: \"héllo ☃\"\n", libraryTypes: true},
		{name: "yaml several documents", file: "m.yaml", plain: "a: 1\n---\nb: [x, y]\n---\nc: {d: e}\n"},
		{name: "yaml anchors, aliases and merge keys", file: "a.yaml", plain: "base: &b {x: 1, y: two}\nref: *b\nmerged:\n  <<: *b\n  z: 3\nscalar: &s value\nagain: *s\n"},
		{name: "yaml unencrypted suffix", file: "u.yaml", plain: "name_unencrypted: visible\npassword: hunter2\n", opts: sopstest.Options{UnencryptedSuffix: "_unencrypted"}},
		{name: "yaml encrypted comment regex", file: "c.yaml", plain: "user: admin\n# sops:enc\npassword: hunter2\nlist:\n  - plain\n  # sops:enc\n  - secret\n", opts: sopstest.Options{EncryptedCommentRegex: "sops:enc"}},
		{name: "yaml MAC over encrypted values only", file: "o.yaml", plain: secret, opts: sopstest.Options{EncryptedRegex: "^stringData$", MACOnlyEncrypted: true}},
		{name: "json nested and typed", file: "d.json", plain: `{"b": 1, "a": {"big": 9007199254740993, "f": 2.5, "neg": -1, "t": true, "n": null, "list": [1, "two", {"three": 3}, [4]]}, "s": "<&>"}`},
		{name: "json encrypted regex", file: "d.json", plain: `{"user": "admin", "password": "hunter2", "port": 5432}`, opts: sopstest.Options{EncryptedRegex: "^password$"}},
		{name: "ini sections", file: "db.ini", plain: "[db]\nuser = admin\npassword = hunter2\n\n[cache]\nttl = 30\n"},
		{name: "binary", file: "tls.key", plain: "-----BEGIN KEY-----\nhunter2\x00\xff\n-----END KEY-----\n"},
		{name: "binary without extension", file: "token", plain: "hunter2"},
		{name: "dotenv with comments and newlines", file: "db.env", plain: "# database\nUSER=admin\nPASSWORD=hun=ter2\nCERT=line1\\nline2\nEMPTY=\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			enc, dataKey, err := sopstest.EncryptWithKey(tt.file, []byte(tt.plain), r, tt.opts)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(IsEncrypted(tt.file, enc)).To(BeTrue())
			out, decrypted, err := d.DecryptFile(tt.file, enc)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(decrypted).To(BeTrue())
			want, err := sopstest.Decrypt(tt.file, enc, dataKey)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(meaning(t, tt.file, out)).To(Equal(meaning(t, tt.file, want)))
			if !tt.libraryTypes {
				g.Expect(meaning(t, tt.file, out)).To(Equal(meaning(t, tt.file, []byte(tt.plain))))
			}
			g.Expect(string(out)).NotTo(ContainSubstring("ENC["))
		})
	}
}

// meaning decodes a document into plain Go values for comparison.
func meaning(t *testing.T, file string, b []byte) any {
	t.Helper()
	switch FormatFor(file) {
	case FormatBinary:
		return string(b)
	case FormatINI:
		return strings.Fields(string(b))
	case FormatJSON:
		var v any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: %v\n%s", file, err, b)
		}
		return v
	case FormatDotenv:
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	var docs []any
	dec := yamlv3.NewDecoder(bytes.NewReader(b))
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v\n%s", file, err, b)
		}
		docs = append(docs, v)
	}
}

// TestInvalidDocuments: files that look SOPS-encrypted but that SOPS
// cannot read are refused with a reason, never a panic.
func TestInvalidDocuments(t *testing.T) {
	const md = "sops:\n  mac: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\n"
	tests := []struct{ name, file, in string }{
		{"yaml syntax", "s.yaml", "a: [1, 2\n" + md},
		{"yaml duplicate key", "s.yaml", "a: 1\na: 2\n" + md},
		{"yaml alias bomb", "s.yaml", aliasBomb() + md},
		{"yaml metadata without keys", "s.yaml", "a: 1\n" + md},
		{"json truncated", "s.json", `{"a": {"b": 1}, "sops": {"mac": "ENC[x]"`},
		{"json array", "s.json", `[{"sops": {"mac": "ENC[x]"}}]`},
		{"dotenv without =", "s.env", "A=1\nB\nsops_mac=ENC[x]\n"},
		{"binary metadata without data", "s.bin", `{"sops": {"mac": "ENC[x]"}}`},
	}
	d, err := NewDecryptor(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := d.DecryptFile(tt.file, []byte(tt.in))
			if !errors.Is(err, ErrDecryption) || !strings.Contains(err.Error(), tt.file) {
				t.Fatalf("want a decryption error naming %s, got %v", tt.file, err)
			}
		})
	}
}

func aliasBomb() string {
	var b strings.Builder
	b.WriteString("a: &a [x, x, x, x, x, x, x, x, x, x]\n")
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		b.WriteString(n + ": &" + n + " [")
		for i := 0; i < 10; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*" + prev)
		}
		b.WriteString("]\n")
		prev = n
	}
	return b.String()
}
