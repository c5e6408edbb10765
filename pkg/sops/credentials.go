package sops

import (
	"encoding/json"
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"sigs.k8s.io/yaml"

	"gotk.dev/pkg/cloudauth"
)

// awsCredentials is the YAML of a Secret's sops.aws-kms entry.
type awsCredentials struct {
	AccessKeyID     string `json:"aws_access_key_id"`
	SecretAccessKey string `json:"aws_secret_access_key"`
	SessionToken    string `json:"aws_session_token"`
}

func parseAWSCredentials(b []byte) (aws.CredentialsProvider, error) {
	var c awsCredentials
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, errors.New("not YAML with aws_access_key_id and aws_secret_access_key")
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return nil, errors.New("aws_access_key_id and aws_secret_access_key are required")
	}
	return credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken), nil
}

// checkGCPCredentials checks that a sops.gcp-kms entry is a credentials
// JSON (a service account key or another type the Google SDK reads).
func checkGCPCredentials(b []byte) error {
	var c struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &c); err != nil || c.Type == "" {
		return errors.New("not a Google credentials JSON (no \"type\")")
	}
	return nil
}

// azureCredentials is the YAML or JSON of a Secret's sops.azure-kv entry,
// with Flux's field names (and the az CLI's service principal output).
type azureCredentials struct {
	TenantID                   string `json:"tenantId"`
	ClientID                   string `json:"clientId"`
	ClientSecret               string `json:"clientSecret"`
	ClientCertificate          string `json:"clientCertificate"`
	ClientCertificatePassword  string `json:"clientCertificatePassword"`
	ClientCertificateSendChain bool   `json:"clientCertificateSendChain"`
	AuthorityHost              string `json:"authorityHost"`
	// The az CLI's names.
	Tenant   string `json:"tenant"`
	AppID    string `json:"appId"`
	Password string `json:"password"`
}

func parseAzureCredentials(b []byte, o Options) (azcore.TokenCredential, error) {
	var c azureCredentials
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, errors.New("not YAML or JSON with tenantId, clientId and clientSecret or clientCertificate")
	}
	c.TenantID = firstOf(c.TenantID, c.Tenant)
	c.ClientID = firstOf(c.ClientID, c.AppID)
	c.ClientSecret = firstOf(c.ClientSecret, c.Password)
	if c.TenantID == "" || c.ClientID == "" {
		return nil, errors.New("tenantId and clientId are required")
	}
	co := cloudauth.AzureClientOptions(o.HTTPClient)
	if c.AuthorityHost != "" {
		co.Cloud.ActiveDirectoryAuthorityHost = c.AuthorityHost
	}
	switch {
	case c.ClientSecret != "":
		return azidentity.NewClientSecretCredential(c.TenantID, c.ClientID, c.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: co})
	case c.ClientCertificate != "":
		certs, key, err := azidentity.ParseCertificates([]byte(c.ClientCertificate), []byte(c.ClientCertificatePassword))
		if err != nil {
			return nil, errors.New("clientCertificate is not a PEM or PKCS#12 certificate with its key (or the password is wrong)")
		}
		return azidentity.NewClientCertificateCredential(c.TenantID, c.ClientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: co, SendCertificateChain: c.ClientCertificateSendChain})
	}
	return nil, errors.New("clientSecret or clientCertificate is required")
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
