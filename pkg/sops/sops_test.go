package sops

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/ProtonMail/go-crypto/openpgp"
	pgparmor "github.com/ProtonMail/go-crypto/openpgp/armor"
	. "github.com/onsi/gomega"

	"gotk.dev/pkg/sops/sopstest"
)

const secret = `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: production
type: Opaque
stringData:
  password: hunter2
`

func newAge(t *testing.T) (*age.X25519Identity, []byte) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id, []byte("# test key\n" + id.String() + "\n")
}

func newPGP(t *testing.T) (pub, priv []byte) {
	t.Helper()
	e, err := openpgp.NewEntity("test", "", "test@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	var pb, sb bytes.Buffer
	w, _ := pgparmor.Encode(&pb, openpgp.PublicKeyType, nil)
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	w, _ = pgparmor.Encode(&sb, openpgp.PrivateKeyType, nil)
	if err := e.SerializePrivate(w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return pb.Bytes(), sb.Bytes()
}

func TestDecrypt(t *testing.T) {
	ageID, ageKey := newAge(t)
	_, otherKey := newAge(t)
	pgpPub, pgpPriv := newPGP(t)

	encAge, err := sopstest.Encrypt("secret.yaml", []byte(secret), sopstest.Recipients{Age: []string{ageID.Recipient().String()}}, sopstest.Options{EncryptedRegex: "^(data|stringData)$"})
	if err != nil {
		t.Fatal(err)
	}
	encPGP, err := sopstest.Encrypt("secret.yaml", []byte(secret), sopstest.Recipients{PGP: [][]byte{pgpPub}}, sopstest.Options{EncryptedRegex: "^(data|stringData)$"})
	if err != nil {
		t.Fatal(err)
	}
	encEnv, err := sopstest.Encrypt("db.env", []byte("PASSWORD=hunter2\n"), sopstest.Recipients{Age: []string{ageID.Recipient().String()}}, sopstest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	encJSON, err := sopstest.Encrypt("db.json", []byte(`{"password":"hunter2"}`), sopstest.Recipients{Age: []string{ageID.Recipient().String()}}, sopstest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	encINI, err := sopstest.Encrypt("db.ini", []byte("[db]\npassword = hunter2\n"), sopstest.Recipients{Age: []string{ageID.Recipient().String()}}, sopstest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	encBin, err := sopstest.Encrypt("tls.crt", []byte("hunter2 in a binary file\n"), sopstest.Recipients{Age: []string{ageID.Recipient().String()}}, sopstest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(encAge, []byte("name: db"), []byte("name: dc"), 1)
	disabled := regexp.MustCompile(`(?m)^( +)name: db\n`).ReplaceAll(encAge, []byte("${1}name: db\n${1}annotations:\n${1}${1}kustomize.toolkit.fluxcd.io/decrypt: Disabled\n"))

	tests := []struct {
		name      string
		file      string
		in        []byte
		keys      map[string][]byte
		disabled  bool // no spec.decryption: a nil Decryptor
		want      string
		decrypted bool
		wantErr   string
	}{
		{name: "age", file: "s.yaml", in: encAge, keys: map[string][]byte{"identity.agekey": ageKey}, want: "password: hunter2", decrypted: true},
		{name: "pgp", file: "s.yaml", in: encPGP, keys: map[string][]byte{"key.asc": pgpPriv}, want: "password: hunter2", decrypted: true},
		{name: "dotenv", file: "db.env", in: encEnv, keys: map[string][]byte{"identity.agekey": ageKey}, want: "PASSWORD=hunter2", decrypted: true},
		{name: "json", file: "db.json", in: encJSON, keys: map[string][]byte{"identity.agekey": ageKey}, want: "hunter2", decrypted: true},
		{name: "ini", file: "db.ini", in: encINI, keys: map[string][]byte{"identity.agekey": ageKey}, want: "password = hunter2", decrypted: true},
		{name: "binary", file: "tls.crt", in: encBin, keys: map[string][]byte{"identity.agekey": ageKey}, want: "hunter2 in a binary file", decrypted: true},
		{name: "plain binary untouched", file: "tls.crt", in: []byte("hunter2"), keys: nil, want: "hunter2"},
		{name: "plain file untouched", file: "p.yaml", in: []byte(secret), keys: nil, want: "hunter2"},
		{name: "opt-out annotation", file: "s.yaml", in: disabled, keys: map[string][]byte{"identity.agekey": ageKey}, want: "ENC["},
		{name: "wrong key", file: "s.yaml", in: encAge, keys: map[string][]byte{"other.agekey": otherKey}, wantErr: "(age): failed to create reader"},
		{name: "pgp file, age key only", file: "s.yaml", in: encPGP, keys: map[string][]byte{"identity.agekey": ageKey}, wantErr: "(pgp): no OpenPGP key (*.asc) in the decryption Secret"},
		{name: "no decryption", file: "s.yaml", in: encAge, disabled: true, wantErr: "no decryption key is configured"},
		{name: "no key in the Secret", file: "s.yaml", in: encAge, wantErr: "(age): no age identity (*.agekey) in the decryption Secret"},
		{name: "tampered", file: "s.yaml", in: tampered, keys: map[string][]byte{"identity.agekey": ageKey}, wantErr: "MAC mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			d, err := NewDecryptor(tt.keys)
			g.Expect(err).NotTo(HaveOccurred())
			if tt.disabled {
				d = nil
			}
			out, decrypted, err := d.DecryptFile(tt.file, tt.in)
			if tt.wantErr != "" {
				g.Expect(err).To(HaveOccurred())
				g.Expect(errors.Is(err, ErrDecryption)).To(BeTrue())
				g.Expect(err.Error()).To(ContainSubstring(tt.wantErr))
				g.Expect(err.Error()).To(ContainSubstring(tt.file))
				g.Expect(err.Error()).NotTo(ContainSubstring("hunter2"))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(decrypted).To(Equal(tt.decrypted))
			g.Expect(string(out)).To(ContainSubstring(tt.want))
		})
	}
}

func TestBadKeys(t *testing.T) {
	_, err := NewDecryptor(map[string][]byte{"x.agekey": []byte("AGE-SECRET-KEY-nonsense")})
	if err == nil || !strings.Contains(err.Error(), `"x.agekey"`) || strings.Contains(err.Error(), "nonsense") {
		t.Fatalf("want an error naming the key and not its content, got %v", err)
	}
	tests := []struct{ name, data, wantErr string }{
		{"k.asc", "garbage", `key "k.asc" (pgp): not a valid armored OpenPGP key`},
		{"p.agekey", "AGE-PLUGIN-YUBIKEY-1XYZ", `key "p.agekey" (age): plugin identities are not supported`},
		{AWSKMSKey, "aws_access_key_id: AKIDSECRETISH\n", `key "sops.aws-kms" (aws-kms): aws_access_key_id and aws_secret_access_key are required`},
		{GCPKMSKey, "not json AKIDSECRETISH", `key "sops.gcp-kms" (gcp-kms): not a Google credentials JSON`},
		{AzureKVKey, "tenantId: t\nclientId: c\n", `key "sops.azure-kv" (azure-kv): clientSecret or clientCertificate is required`},
		{AzureKVKey, "tenantId: t\nclientId: c\nclientCertificate: AKIDSECRETISH\n", `clientCertificate is not a PEM or PKCS#12 certificate`},
		{VaultTokenKey, "  \n", `key "sops.vault-token" (hc-vault): the token is empty`},
	}
	for _, tt := range tests {
		_, err := NewDecryptor(map[string][]byte{tt.name: []byte(tt.data)})
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "AKIDSECRETISH") {
			t.Errorf("%s: want an error containing %q and not the content, got %v", tt.name, tt.wantErr, err)
		}
	}
}

// FuzzDecryptFile: any input to the decryption entry point, under any
// name, is returned, decrypted or refused, never a panic.
func FuzzDecryptFile(f *testing.F) {
	id, _ := age.GenerateX25519Identity()
	enc, _ := sopstest.Encrypt("s.yaml", []byte(secret), sopstest.Recipients{Age: []string{id.Recipient().String()}}, sopstest.Options{EncryptedRegex: "^(data|stringData)$"})
	f.Add("s.yaml", enc)
	f.Add("s.json", []byte(`{"sops":{"mac":"x"}}`))
	f.Add("s.env", []byte("sops_mac=x\n"))
	f.Add("s.yaml", []byte("sops: {}\n"))
	f.Add("s.yaml", []byte("a: b\nsops:\n  mac: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\n"))
	f.Add("s.ini", []byte("[sops]\nmac = ENC[AES256_GCM,data:x]\n"))
	f.Add("s.bin", []byte(`{"data": "x", "sops": {"mac": "ENC[AES256_GCM,data:x]"}}`))
	d, _ := NewDecryptor(map[string][]byte{"k.agekey": []byte(id.String())})
	f.Fuzz(func(t *testing.T, name string, b []byte) {
		_, _, _ = d.DecryptFile(name, b) // must not panic
	})
}
