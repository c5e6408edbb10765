package sops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/ProtonMail/go-crypto/openpgp"
	pgparmor "github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/aws/aws-sdk-go-v2/aws"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/azkv"
	"github.com/getsops/sops/v3/gcpkms"
	"github.com/getsops/sops/v3/hcvault"
	"github.com/getsops/sops/v3/keyservice"
	"github.com/getsops/sops/v3/kms"
	"golang.org/x/oauth2"
	"google.golang.org/api/option"

	"gotk.dev/pkg/cloudauth"
)

// Options are the SDK clients' settings; the zero value is production's.
type Options struct {
	// HTTPClient, when set, carries the AWS KMS, Azure Key Vault and Vault
	// requests (and Azure's token requests), e.g. to trust a private CA.
	HTTPClient *http.Client
	// GCPClientOptions are added to the GCP KMS client's options.
	GCPClientOptions []option.ClientOption
	// Identity, when set, replaces the default credential chains: cloud
	// keys with no credentials in the Secret use this ServiceAccount's
	// workload identity (spec.decryption.serviceAccountName).
	Identity *cloudauth.ServiceAccountIdentity
}

// keyServer is a SOPS key service that decrypts data keys with the keys
// of one decryption Secret, held in memory, and the SDKs' default
// credential chains for cloud keys it has no credentials for. It reads
// no key file and runs no program (no GnuPG, no age plugin).
type keyServer struct {
	opts Options

	age sopsage.ParsedIdentities
	pgp openpgp.EntityList
	// aws, gcpJSON/gcpToken and azure are nil to use the SDK's default
	// credential chain.
	aws        aws.CredentialsProvider
	gcpJSON    []byte
	gcpToken   oauth2.TokenSource
	azure      azcore.TokenCredential
	vaultToken string
}

var errEncrypt = errors.New("this key service only decrypts")

// Encrypt is refused: the controller never encrypts.
func (s *keyServer) Encrypt(context.Context, *keyservice.EncryptRequest) (*keyservice.EncryptResponse, error) {
	return nil, errEncrypt
}

// Decrypt decrypts a data key (or its Shamir share) with the key the
// request names.
func (s *keyServer) Decrypt(ctx context.Context, req *keyservice.DecryptRequest) (*keyservice.DecryptResponse, error) {
	pt, err := s.decrypt(ctx, req.GetKey(), req.GetCiphertext())
	if err != nil {
		return nil, err
	}
	return &keyservice.DecryptResponse{Plaintext: pt}, nil
}

func (s *keyServer) decrypt(ctx context.Context, key *keyservice.Key, ct []byte) ([]byte, error) {
	switch k := key.GetKeyType().(type) {
	case *keyservice.Key_AgeKey:
		if len(s.age) == 0 {
			return nil, errors.New("no age identity (*.agekey) in the decryption Secret")
		}
		mk := sopsage.MasterKey{Recipient: k.AgeKey.GetRecipient(), EncryptedKey: string(ct)}
		s.age.ApplyToMasterKey(&mk)
		return mk.Decrypt()
	case *keyservice.Key_PgpKey:
		return s.decryptPGP(ct)
	case *keyservice.Key_KmsKey:
		mk := kms.NewMasterKeyFromArn(k.KmsKey.GetArn(), encryptionContext(k.KmsKey.GetContext()), k.KmsKey.GetAwsProfile())
		mk.Role = k.KmsKey.GetRole()
		mk.EncryptedKey = string(ct)
		creds := s.aws
		if creds == nil && s.opts.Identity != nil {
			var err error
			if creds, err = identityAWSCredentials(ctx, mk.Arn, s.opts); err != nil {
				return nil, err
			}
		}
		if creds != nil {
			kms.NewCredentialsProvider(creds).ApplyToMasterKey(mk)
		}
		if s.opts.HTTPClient != nil {
			kms.NewHTTPClient(s.opts.HTTPClient).ApplyToMasterKey(mk)
		}
		return mk.DecryptContext(ctx)
	case *keyservice.Key_GcpKmsKey:
		mk := gcpkms.MasterKey{ResourceID: k.GcpKmsKey.GetResourceId(), EncryptedKey: string(ct)}
		switch {
		case s.gcpToken != nil:
			gcpkms.NewTokenSource(s.gcpToken).ApplyToMasterKey(&mk)
		case s.gcpJSON != nil:
			gcpkms.CredentialJSON(s.gcpJSON).ApplyToMasterKey(&mk)
		case s.opts.Identity != nil:
			return nil, errGCPIdentity
		}
		if len(s.opts.GCPClientOptions) > 0 {
			gcpkms.ClientOptions(s.opts.GCPClientOptions).ApplyToMasterKey(&mk)
		}
		return mk.DecryptContext(ctx)
	case *keyservice.Key_AzureKeyvaultKey:
		mk := azkv.NewMasterKey(k.AzureKeyvaultKey.GetVaultUrl(), k.AzureKeyvaultKey.GetName(), k.AzureKeyvaultKey.GetVersion())
		mk.EncryptedKey = string(ct)
		cred, err := s.azureCredential()
		if err != nil {
			return nil, err
		}
		azkv.NewTokenCredential(cred).ApplyToMasterKey(mk)
		if s.opts.HTTPClient != nil {
			azkv.NewClientOptions(&azkeys.ClientOptions{ClientOptions: cloudauth.AzureClientOptions(s.opts.HTTPClient)}).ApplyToMasterKey(mk)
		}
		return mk.DecryptContext(ctx)
	case *keyservice.Key_VaultKey:
		if s.vaultToken == "" {
			return nil, fmt.Errorf("no Vault token: set %s in the decryption Secret or %s in the controller's environment", VaultTokenKey, EnvVaultToken)
		}
		mk := hcvault.NewMasterKey(k.VaultKey.GetVaultAddress(), k.VaultKey.GetEnginePath(), k.VaultKey.GetKeyName())
		mk.EncryptedKey = string(ct)
		hcvault.Token(s.vaultToken).ApplyToMasterKey(mk)
		if s.opts.HTTPClient != nil {
			hcvault.NewHTTPClient(s.opts.HTTPClient).ApplyToMasterKey(mk)
		}
		return mk.DecryptContext(ctx)
	case *keyservice.Key_HckmsKey:
		return nil, errors.New("HuaweiCloud KMS keys are not supported")
	}
	return nil, errors.New("unknown key type")
}

// azureCredential is the Secret's, the ServiceAccount's or the default.
func (s *keyServer) azureCredential() (azcore.TokenCredential, error) {
	if s.azure != nil {
		return s.azure, nil
	}
	return cloudauth.AzureCredential(cloudOptions(s.opts))
}

// decryptPGP decrypts with the Secret's OpenPGP keys in memory; the
// library's PGP key source reads key rings from files or runs GnuPG.
func (s *keyServer) decryptPGP(ct []byte) ([]byte, error) {
	if len(s.pgp) == 0 {
		return nil, errors.New("no OpenPGP key (*.asc) in the decryption Secret")
	}
	block, err := pgparmor.Decode(strings.NewReader(string(ct)))
	if err != nil {
		return nil, errors.New("the encrypted data key is not an armored OpenPGP message")
	}
	md, err := openpgp.ReadMessage(block.Body, s.pgp, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("no OpenPGP key of the decryption Secret decrypts it (%v)", err)
	}
	return io.ReadAll(md.UnverifiedBody)
}

func encryptionContext(c map[string]string) map[string]*string {
	out := make(map[string]*string, len(c))
	for k, v := range c {
		out[k] = &v
	}
	return out
}

// recorder passes a file's key requests to the key server and keeps,
// per key, why it failed, for one error naming each key and its type.
type recorder struct {
	ctx    context.Context
	server *keyServer

	mu        sync.Mutex
	failures  []string
	successes int
}

// Encrypt is refused: the controller never encrypts.
func (r *recorder) Encrypt(context.Context, *keyservice.EncryptRequest) (*keyservice.EncryptResponse, error) {
	return nil, errEncrypt
}

// Decrypt asks the key server, with the file's deadline.
func (r *recorder) Decrypt(_ context.Context, req *keyservice.DecryptRequest) (*keyservice.DecryptResponse, error) {
	rsp, err := r.server.Decrypt(r.ctx, req)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.failures = append(r.failures, fmt.Sprintf("%s (%s): %s", keyName(req.GetKey()), keyType(req.GetKey()), shortErr(err)))
		return nil, err
	}
	r.successes++
	return rsp, nil
}

// summary says why no data key was recovered.
func (r *recorder) summary(groups, threshold int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := strings.Join(r.failures, "; ")
	if groups > 1 {
		if threshold == 0 {
			threshold = groups
		}
		s = fmt.Sprintf("keys of %d of %d key groups decrypt, %d needed: %s", r.successes, groups, threshold, s)
	}
	return s
}

// keyType is Flux's name of a key's type.
func keyType(k *keyservice.Key) string {
	switch k.GetKeyType().(type) {
	case *keyservice.Key_AgeKey:
		return "age"
	case *keyservice.Key_PgpKey:
		return "pgp"
	case *keyservice.Key_KmsKey:
		return "aws-kms"
	case *keyservice.Key_GcpKmsKey:
		return "gcp-kms"
	case *keyservice.Key_AzureKeyvaultKey:
		return "azure-kv"
	case *keyservice.Key_VaultKey:
		return "hc-vault"
	case *keyservice.Key_HckmsKey:
		return "hckms"
	}
	return "unknown"
}

// keyName identifies a key by its public part: recipient, fingerprint,
// ARN, resource ID or URL.
func keyName(k *keyservice.Key) string {
	switch t := k.GetKeyType().(type) {
	case *keyservice.Key_AgeKey:
		return t.AgeKey.GetRecipient()
	case *keyservice.Key_PgpKey:
		return t.PgpKey.GetFingerprint()
	case *keyservice.Key_KmsKey:
		return t.KmsKey.GetArn()
	case *keyservice.Key_GcpKmsKey:
		return t.GcpKmsKey.GetResourceId()
	case *keyservice.Key_AzureKeyvaultKey:
		return strings.TrimSuffix(t.AzureKeyvaultKey.GetVaultUrl(), "/") + "/keys/" + t.AzureKeyvaultKey.GetName()
	case *keyservice.Key_VaultKey:
		return strings.TrimSuffix(t.VaultKey.GetVaultAddress(), "/") + "/v1/" + t.VaultKey.GetEnginePath() + "/keys/" + t.VaultKey.GetKeyName()
	}
	return "?"
}

// shortErr keeps an SDK error to one line of bounded length.
func shortErr(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}
