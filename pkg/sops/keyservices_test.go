package sops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sopsazkv "github.com/getsops/sops/v3/azkv"
	sopsgcp "github.com/getsops/sops/v3/gcpkms"
	"github.com/getsops/sops/v3/hcvault"
	"github.com/getsops/sops/v3/keys"
	sopskms "github.com/getsops/sops/v3/kms"
	. "github.com/onsi/gomega"

	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/sops/sopstest"
)

// isolateAWS empties the AWS SDK's default credential chain (no
// environment keys, files, web identity or instance metadata) and points
// its KMS and STS endpoints at the emulator.
func isolateAWS(t *testing.T, endpoint string) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_KMS": endpoint, "AWS_ENDPOINT_URL_STS": endpoint,
		"AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1", "AWS_REGION": "eu-west-1",
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
	} {
		t.Setenv(k, v)
		if v == "" {
			os.Unsetenv(k)
		}
	}
}

// kmsKey is a SOPS AWS KMS master key that encrypts through the emulator.
func kmsKey(s *kmsServer) keys.MasterKey {
	mk := sopskms.NewMasterKeyFromArn(s.Arn, nil, "")
	sopskms.NewCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIASETUP", "setup", "")).ApplyToMasterKey(mk)
	return mk
}

const awsSecret = "aws_access_key_id: AKIAFROMSECRET\naws_secret_access_key: s3cr3t\n"

// TestDecryptAWSKMS decrypts a file whose data key local-kms encrypted:
// with the Secret's static credentials, and with the SDK's default chain
// (environment keys; a web identity token exchanged at STS), and refuses
// it without credentials, naming the key type and the ARN.
func TestDecryptAWSKMS(t *testing.T) {
	s := startKMS(t)
	isolateAWS(t, s.URL)
	enc, err := sopstest.Encrypt("s.yaml", []byte(secret), sopstest.Recipients{Keys: []keys.MasterKey{kmsKey(s)}}, sopstest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.accessKeys()
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("web-identity-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		keys    map[string][]byte
		env     map[string]string
		id      *cloudauth.ServiceAccountIdentity
		wantKey string
		wantErr string
	}{
		{name: "static credentials from the Secret", keys: map[string][]byte{AWSKMSKey: []byte(awsSecret)}, wantKey: "AKIAFROMSECRET"},
		{name: "default chain: environment", env: map[string]string{"AWS_ACCESS_KEY_ID": "AKIAFROMENV", "AWS_SECRET_ACCESS_KEY": "env"}, wantKey: "AKIAFROMENV"},
		{name: "default chain: web identity", env: map[string]string{"AWS_WEB_IDENTITY_TOKEN_FILE": token, "AWS_ROLE_ARN": "arn:aws:iam::111122223333:role/sops"}, wantKey: stsAccessKey},
		{name: "no credentials", wantErr: "(aws-kms): "},
		{name: "workload identity of a ServiceAccount", id: saIdentity(map[string]string{cloudauth.AnnotationAWSRoleARN: "arn:aws:iam::111122223333:role/sops"}), wantKey: stsAccessKey},
		{name: "ServiceAccount without a role", id: saIdentity(nil), wantErr: "(aws-kms): ServiceAccount tenant/kms has no eks.amazonaws.com/role-arn annotation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			d, err := NewDecryptorWithOptions(tt.keys, Options{Identity: tt.id})
			g.Expect(err).NotTo(HaveOccurred())
			out, decrypted, err := d.DecryptFile("s.yaml", enc)
			if tt.wantErr != "" {
				g.Expect(errors.Is(err, ErrDecryption)).To(BeTrue(), "%v", err)
				g.Expect(err.Error()).To(ContainSubstring(tt.wantErr))
				g.Expect(err.Error()).To(ContainSubstring(s.Arn))
				g.Expect(err.Error()).To(ContainSubstring("s.yaml"))
				g.Expect(err.Error()).NotTo(ContainSubstring("hunter2"))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(decrypted).To(BeTrue())
			g.Expect(string(out)).To(ContainSubstring("password: hunter2"))
			g.Expect(s.accessKeys()).To(ContainElement(tt.wantKey))
		})
	}
}

// TestDecryptVault decrypts a file whose data key the Vault transit test
// server encrypted, with the Secret's token or the controller's
// VAULT_TOKEN, and refuses it with a wrong or no token, or when the
// file's Vault address is not on SOPS's allowlist.
func TestDecryptVault(t *testing.T) {
	addr := startVault(t)
	mk := hcvault.NewMasterKey(addr, "transit", "sops")
	hcvault.Token(vaultToken).ApplyToMasterKey(mk)
	enc, err := sopstest.Encrypt("db.env", []byte("PASSWORD=hunter2\n"), sopstest.Recipients{Keys: []keys.MasterKey{mk}}, sopstest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		keys      map[string][]byte
		envToken  string
		allowlist string // SOPS_HC_VAULT_ALLOWLIST
		wantErr   string
	}{
		{name: "token from the Secret", keys: map[string][]byte{VaultTokenKey: []byte(vaultToken + "\n")}},
		{name: "VAULT_TOKEN of the controller", envToken: vaultToken},
		{name: "the Secret's token wins", keys: map[string][]byte{VaultTokenKey: []byte(vaultToken)}, envToken: "hvs.other"},
		{name: "wrong token", keys: map[string][]byte{VaultTokenKey: []byte("hvs.wrong")}, wantErr: "(hc-vault): "},
		{name: "no token", wantErr: "(hc-vault): no Vault token"},
		{name: "address not on the allowlist", envToken: vaultToken, allowlist: "https://vault.example.com", wantErr: "(hc-vault): Allowlist does not allow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			t.Setenv(EnvVaultToken, tt.envToken)
			t.Setenv("SOPS_HC_VAULT_ALLOWLIST", tt.allowlist)
			d, err := NewDecryptor(tt.keys)
			g.Expect(err).NotTo(HaveOccurred())
			out, _, err := d.DecryptFile("db.env", enc)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				g.Expect(err.Error()).To(ContainSubstring(addr))
				g.Expect(err.Error()).NotTo(Or(ContainSubstring("hunter2"), ContainSubstring("hvs.wrong")))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(out)).To(ContainSubstring("PASSWORD=hunter2"))
		})
	}
}

// TestDecryptAgeAndAWSKMS: a file encrypted, as `sops --age … --kms …`
// does, to one key group of an age recipient and an AWS KMS key
// decrypts with either key alone; with two key groups (Shamir, both
// needed) one key alone is refused, naming the groups.
func TestDecryptAgeAndAWSKMS(t *testing.T) {
	s := startKMS(t)
	isolateAWS(t, s.URL)
	id, ageKey := newAge(t)
	age := sopstest.Recipients{Age: []string{id.Recipient().String()}}
	oneGroup, err := sopstest.Encrypt("s.yaml", []byte(secret), sopstest.Recipients{Age: age.Age, Keys: []keys.MasterKey{kmsKey(s)}},
		sopstest.Options{EncryptedRegex: "^(data|stringData)$"})
	if err != nil {
		t.Fatal(err)
	}
	twoGroups, err := sopstest.Encrypt("s.yaml", []byte(secret), age,
		sopstest.Options{EncryptedRegex: "^(data|stringData)$", MoreGroups: []sopstest.Recipients{{Keys: []keys.MasterKey{kmsKey(s)}}}})
	if err != nil {
		t.Fatal(err)
	}
	ageOnly := map[string][]byte{"age.agekey": ageKey}
	awsOnly := map[string][]byte{AWSKMSKey: []byte(awsSecret)}
	both := map[string][]byte{"age.agekey": ageKey, AWSKMSKey: []byte(awsSecret)}
	tests := []struct {
		name    string
		in      []byte
		keys    map[string][]byte
		wantErr string
	}{
		{name: "one group, age key alone", in: oneGroup, keys: ageOnly},
		{name: "one group, AWS KMS alone", in: oneGroup, keys: awsOnly},
		{name: "two groups, both keys", in: twoGroups, keys: both},
		{name: "two groups, age key alone", in: twoGroups, keys: ageOnly, wantErr: "keys of 1 of 2 key groups decrypt, 2 needed"},
		{name: "two groups, AWS KMS alone", in: twoGroups, keys: awsOnly, wantErr: "keys of 1 of 2 key groups decrypt, 2 needed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			d, err := NewDecryptor(tt.keys)
			g.Expect(err).NotTo(HaveOccurred())
			out, _, err := d.DecryptFile("s.yaml", tt.in)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				g.Expect(err.Error()).NotTo(ContainSubstring("hunter2"))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(strings.Contains(string(out), "password: hunter2")).To(BeTrue())
		})
	}
}

// TestDecryptGCPKMS decrypts a file whose data key the in-process GCP
// KMS gRPC server encrypted, with the Secret's service account and with
// application default credentials (GOOGLE_APPLICATION_CREDENTIALS).
func TestDecryptGCPKMS(t *testing.T) {
	s := startGCPKMS(t)
	for _, k := range []string{"GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CREDENTIALS", "GOOGLE_OAUTH_ACCESS_TOKEN", "SOPS_GCP_KMS_ENDPOINT", "SOPS_GCP_KMS_CLIENT_TYPE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("HOME", t.TempDir()) // no gcloud well-known file
	t.Setenv("NO_GCE_CHECK", "true")
	mk := &sopsgcp.MasterKey{ResourceID: gcpKeyName}
	sopsgcp.CredentialJSON(s.serviceAccountJSON(t, "setup@test.iam.gserviceaccount.com")).ApplyToMasterKey(mk)
	sopsgcp.ClientOptions(s.Options).ApplyToMasterKey(mk)
	enc, err := sopstest.Encrypt("db.json", []byte(`{"password": "hunter2"}`), sopstest.Recipients{Keys: []keys.MasterKey{mk}}, sopstest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.callers()
	adc := filepath.Join(t.TempDir(), "adc.json")
	if err := os.WriteFile(adc, s.serviceAccountJSON(t, "adc@test.iam.gserviceaccount.com"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		keys       map[string][]byte
		env        map[string]string
		wantCaller string
		wantErr    string
	}{
		{name: "service account from the Secret", keys: map[string][]byte{GCPKMSKey: s.serviceAccountJSON(t, "secret@test.iam.gserviceaccount.com")}, wantCaller: "secret@test.iam.gserviceaccount.com"},
		{name: "application default credentials", env: map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": adc}, wantCaller: "adc@test.iam.gserviceaccount.com"},
		{name: "no credentials", wantErr: "(gcp-kms): "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			d, err := NewDecryptorWithOptions(tt.keys, Options{GCPClientOptions: s.Options})
			g.Expect(err).NotTo(HaveOccurred())
			out, _, err := d.DecryptFile("db.json", enc)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				g.Expect(err.Error()).To(ContainSubstring(gcpKeyName))
				g.Expect(err.Error()).NotTo(ContainSubstring("hunter2"))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(out)).To(ContainSubstring("hunter2"))
			g.Expect(s.callers()).To(ContainElement(tt.wantCaller))
		})
	}
}

// TestDecryptAzureKeyVault decrypts a file whose data key the Azure Key
// Vault test server encrypted, with the Secret's client secret and with
// the default credential (environment), and refuses a wrong secret.
func TestDecryptAzureKeyVault(t *testing.T) {
	s := startAzureKV(t)
	for _, k := range []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST", "AZURE_USERNAME", "IDENTITY_ENDPOINT", "MSI_ENDPOINT"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AZURE_AUTHORITY_HOST", azureAuthority)
	creds := func(client, secret string) []byte {
		return []byte(fmt.Sprintf("tenantId: %s\nclientId: %s\nclientSecret: %s\nauthorityHost: %s\n", azureTenant, client, secret, azureAuthority))
	}
	setup, err := parseAzureCredentials(creds("setup", azureClientSecret), Options{HTTPClient: s.Client})
	if err != nil {
		t.Fatal(err)
	}
	mk := sopsazkv.NewMasterKey(azureVaultURL, azureKeyName, azureKeyVersion)
	sopsazkv.NewTokenCredential(setup).ApplyToMasterKey(mk)
	sopsazkv.NewClientOptions(&azkeys.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: s.Client}}).ApplyToMasterKey(mk)
	enc, err := sopstest.Encrypt("s.yaml", []byte(secret), sopstest.Recipients{Keys: []keys.MasterKey{mk}}, sopstest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.callers()
	tests := []struct {
		name       string
		keys       map[string][]byte
		env        map[string]string
		id         *cloudauth.ServiceAccountIdentity
		wantCaller string
		wantErr    string
	}{
		{name: "client secret from the Secret", keys: map[string][]byte{AzureKVKey: creds("from-secret", azureClientSecret)}, wantCaller: "from-secret"},
		{name: "default credential: environment", env: map[string]string{"AZURE_TENANT_ID": azureTenant, "AZURE_CLIENT_ID": "from-env", "AZURE_CLIENT_SECRET": azureClientSecret}, wantCaller: "from-env"},
		{name: "wrong client secret", keys: map[string][]byte{AzureKVKey: creds("from-secret", "wrong-secret")}, wantErr: "(azure-kv): "},
		{name: "workload identity of a ServiceAccount", id: saIdentity(map[string]string{cloudauth.AnnotationAzureClientID: "from-sa", cloudauth.AnnotationAzureTenantID: azureTenant}), wantCaller: "from-sa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			d, err := NewDecryptorWithOptions(tt.keys, Options{HTTPClient: s.Client, Identity: tt.id})
			g.Expect(err).NotTo(HaveOccurred())
			out, _, err := d.DecryptFile("s.yaml", enc)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				g.Expect(err.Error()).To(ContainSubstring(azureVaultURL + "/keys/" + azureKeyName))
				g.Expect(err.Error()).NotTo(Or(ContainSubstring("hunter2"), ContainSubstring("wrong-secret")))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(out)).To(ContainSubstring("password: hunter2"))
			g.Expect(s.callers()).To(ContainElement(tt.wantCaller))
		})
	}
}

// saIdentity is a ServiceAccount whose tokens are "sa-token" for Azure's
// audience and the STS test server's web identity token for AWS's.
func saIdentity(annotations map[string]string) *cloudauth.ServiceAccountIdentity {
	return &cloudauth.ServiceAccountIdentity{Name: "tenant/kms", Annotations: annotations,
		Token: func(_ context.Context, audience string) (string, error) {
			switch audience {
			case cloudauth.AudienceAWS:
				return "web-identity-token", nil
			case cloudauth.AudienceAzure:
				return "sa-token", nil
			}
			return "", fmt.Errorf("unexpected audience %q", audience)
		}}
}
