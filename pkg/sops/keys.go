package sops

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	sopsage "github.com/getsops/sops/v3/age"
)

// Data keys of a decryption Secret, as in Flux's kustomize-controller.
const (
	// AgeKeySuffix ends entries holding age identities, one per line.
	AgeKeySuffix = ".agekey"
	// PGPKeySuffix ends entries holding armored OpenPGP private keys.
	PGPKeySuffix = ".asc"
	// AWSKMSKey holds static AWS credentials (aws_access_key_id,
	// aws_secret_access_key, aws_session_token) as YAML.
	AWSKMSKey = "sops.aws-kms"
	// GCPKMSKey holds a GCP service account (or other credentials) JSON.
	GCPKMSKey = "sops.gcp-kms"
	// AzureKVKey holds an Azure client secret or certificate (tenantId,
	// clientId, clientSecret or clientCertificate) as YAML or JSON.
	AzureKVKey = "sops.azure-kv"
	// VaultTokenKey holds a HashiCorp Vault token.
	VaultTokenKey = "sops.vault-token"
)

// EnvVaultToken is the controller-wide Vault token used when no
// decryption Secret holds one, as in Flux.
const EnvVaultToken = "VAULT_TOKEN"

// Decryptor holds the keys and credentials of one decryption and
// decrypts SOPS files with them. Key types with no key in the Secret use
// their SDK's default credential chain (AWS environment and web
// identity, GCP application default credentials, Azure default
// credential, VAULT_TOKEN).
type Decryptor struct {
	server  *keyServer
	Timeout time.Duration
}

// NewDecryptor reads the keys of a decryption Secret's data (see the
// data key constants); other entries are ignored. Errors name the entry
// and the key type, never the content.
func NewDecryptor(data map[string][]byte) (*Decryptor, error) {
	return NewDecryptorWithOptions(data, Options{})
}

// NewDecryptorWithOptions is NewDecryptor with the SDK clients' settings.
func NewDecryptorWithOptions(data map[string][]byte, o Options) (*Decryptor, error) {
	d := &Decryptor{server: &keyServer{opts: o, vaultToken: os.Getenv(EnvVaultToken)}}
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

func (d *Decryptor) timeout() time.Duration {
	if d.Timeout > 0 {
		return d.Timeout
	}
	return DefaultTimeout
}

// AddKey adds the key held in a Secret entry, chosen by its name.
func (d *Decryptor) AddKey(name string, b []byte) error {
	s := d.server
	switch {
	case strings.HasSuffix(name, AgeKeySuffix):
		for _, line := range strings.Split(string(b), "\n") {
			// Plugin identities would make the controller run a program.
			if strings.HasPrefix(strings.TrimSpace(line), "AGE-PLUGIN-") {
				return fmt.Errorf("key %q (age): plugin identities are not supported", name)
			}
		}
		var ids sopsage.ParsedIdentities
		if err := ids.Import(strings.ReplaceAll(string(b), "\r", "")); err != nil {
			return fmt.Errorf("key %q (age): not a valid age identity file", name)
		}
		s.age = append(s.age, ids...)
	case strings.HasSuffix(name, PGPKeySuffix):
		ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("key %q (pgp): not a valid armored OpenPGP key", name)
		}
		s.pgp = append(s.pgp, ring...)
	case name == AWSKMSKey:
		c, err := parseAWSCredentials(b)
		if err != nil {
			return fmt.Errorf("key %q (aws-kms): %v", name, err)
		}
		s.aws = c
	case name == GCPKMSKey:
		if err := checkGCPCredentials(b); err != nil {
			return fmt.Errorf("key %q (gcp-kms): %v", name, err)
		}
		s.gcpJSON = bytes.Clone(b)
	case name == AzureKVKey:
		c, err := parseAzureCredentials(b, s.opts)
		if err != nil {
			return fmt.Errorf("key %q (azure-kv): %v", name, err)
		}
		s.azure = c
	case name == VaultTokenKey:
		t := strings.TrimSpace(string(b))
		if t == "" {
			return fmt.Errorf("key %q (hc-vault): the token is empty", name)
		}
		s.vaultToken = t
	}
	return nil
}
