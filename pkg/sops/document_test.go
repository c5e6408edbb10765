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

// TestCodecsReadWhatSOPSWrites encrypts documents with the SOPS library's
// own stores and decrypts them with this package's codecs: the MAC only
// verifies when both build the same tree (order, value types, comments),
// and the decrypted document must mean what the plain one meant.
func TestCodecsReadWhatSOPSWrites(t *testing.T) {
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
	}{
		{name: "yaml Secret, data only", file: "s.yaml", plain: secret, opts: sopstest.Options{EncryptedRegex: "^(data|stringData)$"}},
		{name: "yaml all values, comments everywhere", file: "s.yaml", plain: commented},
		{name: "yaml comments, encrypted regex", file: "s.yml", plain: commented, opts: sopstest.Options{EncryptedRegex: "^(data|stringData)$"}},
		{name: "yaml typed scalars", file: "t.yaml", plain: "int: 3\nneg: -7\nfloat: 1.0\nexp: 1.5e3\nbool: false\nyes: yes\nnothing: ~\nempty: \"\"\nquoted: \"3\"\ndate: 2024-01-02\nmultiline: |\n  line one\n  line two\nunicode: \"héllo ☃\"\n"},
		{name: "yaml several documents", file: "m.yaml", plain: "a: 1\n---\nb: [x, y]\n---\nc: {d: e}\n"},
		{name: "yaml anchors, aliases and merge keys", file: "a.yaml", plain: "base: &b {x: 1, y: two}\nref: *b\nmerged:\n  <<: *b\n  z: 3\nscalar: &s value\nagain: *s\n"},
		{name: "yaml unencrypted suffix", file: "u.yaml", plain: "name_unencrypted: visible\npassword: hunter2\n", opts: sopstest.Options{UnencryptedSuffix: "_unencrypted"}},
		{name: "yaml encrypted comment regex", file: "c.yaml", plain: "user: admin\n# sops:enc\npassword: hunter2\nlist:\n  - plain\n  # sops:enc\n  - secret\n", opts: sopstest.Options{EncryptedCommentRegex: "sops:enc"}},
		{name: "yaml MAC over encrypted values only", file: "o.yaml", plain: secret, opts: sopstest.Options{EncryptedRegex: "^stringData$", MACOnlyEncrypted: true}},
		{name: "json nested and typed", file: "d.json", plain: `{"b": 1, "a": {"big": 9007199254740993, "f": 2.5, "neg": -1, "t": true, "n": null, "list": [1, "two", {"three": 3}, [4]]}, "s": "<&>"}`},
		{name: "json encrypted regex", file: "d.json", plain: `{"user": "admin", "password": "hunter2", "port": 5432}`, opts: sopstest.Options{EncryptedRegex: "^password$"}},
		{name: "dotenv with comments and newlines", file: "db.env", plain: "# database\nUSER=admin\nPASSWORD=hun=ter2\nCERT=line1\\nline2\nEMPTY=\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			enc, err := sopstest.Encrypt(tt.file, []byte(tt.plain), r, tt.opts)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(IsEncrypted(tt.file, enc)).To(BeTrue())
			out, decrypted, err := d.DecryptFile(tt.file, enc)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(decrypted).To(BeTrue())
			g.Expect(meaning(t, tt.file, out)).To(Equal(meaning(t, tt.file, []byte(tt.plain))))
			g.Expect(string(out)).NotTo(ContainSubstring("ENC["))
		})
	}
}

// meaning decodes a document into plain Go values for comparison.
func meaning(t *testing.T, file string, b []byte) any {
	t.Helper()
	switch formatFor(file) {
	case formatJSON:
		var v any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: %v\n%s", file, err, b)
		}
		return v
	case formatDotenv:
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

// TestCodecErrors: documents SOPS cannot hold are refused with a reason,
// never a panic.
func TestCodecErrors(t *testing.T) {
	tests := []struct {
		name    string
		f       format
		in      string
		wantErr string
	}{
		{"yaml sequence document", formatYAML, "- a\n- b\n", "must be a mapping, not a sequence"},
		{"yaml scalar document", formatYAML, "just text\n", "must be a mapping, not a value"},
		{"yaml duplicate key", formatYAML, "a: 1\na: 2\n", "already defined"},
		{"yaml syntax", formatYAML, "a: [1, 2\n", "invalid YAML"},
		{"yaml alias bomb", formatYAML, aliasBomb(), "invalid YAML"},
		{"json array", formatJSON, "[1, 2]", "must be an object"},
		{"json truncated", formatJSON, `{"a": {"b": 1}`, "invalid JSON"},
		{"json bad key", formatJSON, `{1: 2}`, "invalid JSON"},
		{"dotenv without =", formatDotenv, "A=1\nB\n", "line 2 has no '='"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := codecFor(tt.f)
			_, err := c.load([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("want an error containing %q, got %v", tt.wantErr, err)
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

// FuzzCodecs: any input either fails to load or loads into a tree the
// same codec writes back out, without panicking.
func FuzzCodecs(f *testing.F) {
	f.Add(uint8(formatYAML), []byte("a: 1 # c\nb: [x, {y: z}]\n---\nc: ~\n"))
	f.Add(uint8(formatYAML), []byte("base: &b {x: 1}\nm:\n  <<: *b\n"))
	f.Add(uint8(formatJSON), []byte(`{"a": [1, 2.5, "s", null, {"b": true}]}`))
	f.Add(uint8(formatDotenv), []byte("#c\nA=1\\n2\n"))
	f.Fuzz(func(t *testing.T, kind uint8, in []byte) {
		c, ok := codecFor(format(kind%3 + 1))
		if !ok {
			t.Fatal("no codec")
		}
		branches, err := c.load(in)
		if err != nil {
			return
		}
		_, _ = c.emit(branches) // must not panic; NaN in JSON may fail
	})
}
