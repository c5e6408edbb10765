package cloudauth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/oci"
	"gotk.dev/pkg/testserver"
)

const registryPassword = "registry-token"

// saIdentity is a ServiceAccount whose tokens the cloud token services
// of testserver.CloudTokens accept.
func saIdentity(annotations map[string]string) *cloudauth.ServiceAccountIdentity {
	return &cloudauth.ServiceAccountIdentity{Name: "tenant/puller", Annotations: annotations,
		Token: func(_ context.Context, audience string) (string, error) {
			switch audience {
			case cloudauth.AudienceAWS:
				return testserver.CloudAWSWebIdentityToken, nil
			case cloudauth.AudienceAzure:
				return testserver.CloudAzureAssertion, nil
			}
			return "", fmt.Errorf("unexpected audience %q", audience)
		}}
}

// TestRegistryAuthenticator logs in to each cloud's registry through its
// documented token API, with the controller's environment credentials
// and with a ServiceAccount's workload identity, and lists the tags of a
// registry that accepts only the credentials the login handed out.
func TestRegistryAuthenticator(t *testing.T) {
	const role = "arn:aws:iam::111122223333:role/puller"
	tests := []struct {
		name      string
		provider  string
		host      string
		env       func(c *testserver.CloudTokens) map[string]string
		identity  *cloudauth.ServiceAccountIdentity
		wantUser  string
		wantCalls []string
		wantErr   string
	}{
		{
			name: "ECR with static keys", provider: "aws", host: "111122223333.dkr.ecr.eu-west-1.amazonaws.com",
			env: func(c *testserver.CloudTokens) map[string]string {
				return map[string]string{"AWS_ACCESS_KEY_ID": testserver.CloudAWSAccessKey, "AWS_SECRET_ACCESS_KEY": testserver.CloudAWSSecretKey, "AWS_ENDPOINT_URL_ECR": c.URL}
			},
			wantUser: "AWS", wantCalls: []string{"ecr:" + testserver.CloudAWSAccessKey},
		},
		{
			name: "ECR with a ServiceAccount's web identity", provider: "aws", host: "111122223333.dkr.ecr.eu-west-1.amazonaws.com",
			env: func(c *testserver.CloudTokens) map[string]string {
				return map[string]string{"AWS_ENDPOINT_URL_ECR": c.URL, "AWS_ENDPOINT_URL_STS": c.URL}
			},
			identity: saIdentity(map[string]string{cloudauth.AnnotationAWSRoleARN: role}),
			wantUser: "AWS", wantCalls: []string{"sts:" + role, "ecr:" + testserver.CloudAWSSTSAccessKey},
		},
		{
			name: "ECR with a ServiceAccount without a role", provider: "aws", host: "111122223333.dkr.ecr.eu-west-1.amazonaws.com",
			identity: saIdentity(nil), wantErr: "ServiceAccount tenant/puller has no eks.amazonaws.com/role-arn annotation",
		},
		{
			name: "ECR without credentials", provider: "aws", host: "111122223333.dkr.ecr.eu-west-1.amazonaws.com",
			env: func(c *testserver.CloudTokens) map[string]string {
				return map[string]string{"AWS_ENDPOINT_URL_ECR": c.URL}
			},
			wantErr: "ECR GetAuthorizationToken",
		},
		{
			name: "aws with a registry that is not ECR", provider: "aws", host: "ghcr.io",
			wantErr: `"ghcr.io" is not an Amazon ECR registry`,
		},
		{
			name: "ACR with a client secret", provider: "azure", host: "gotk.azurecr.io",
			env: func(*testserver.CloudTokens) map[string]string {
				return map[string]string{"AZURE_TENANT_ID": testserver.CloudAzureTenant, "AZURE_CLIENT_ID": "static-app",
					"AZURE_CLIENT_SECRET": testserver.CloudAzureClientSecret, "AZURE_AUTHORITY_HOST": testserver.CloudAzureAuthority}
			},
			wantUser:  "00000000-0000-0000-0000-000000000000",
			wantCalls: []string{"entra:static-app https://management.azure.com/.default", "acr:gotk.azurecr.io static-app"},
		},
		{
			name: "ACR with a ServiceAccount's workload identity", provider: "azure", host: "gotk.azurecr.cn",
			env: func(*testserver.CloudTokens) map[string]string {
				return map[string]string{"AZURE_AUTHORITY_HOST": testserver.CloudAzureAuthority}
			},
			identity:  saIdentity(map[string]string{cloudauth.AnnotationAzureClientID: "sa-app", cloudauth.AnnotationAzureTenantID: testserver.CloudAzureTenant}),
			wantUser:  "00000000-0000-0000-0000-000000000000",
			wantCalls: []string{"entra:sa-app https://management.chinacloudapi.cn/.default", "acr:gotk.azurecr.cn sa-app"},
		},
		{
			name: "azure with a registry that is not ACR", provider: "azure", host: "gotk.example.com",
			wantErr: `"gotk.example.com" is not an Azure Container Registry`,
		},
		{
			name: "Artifact Registry with the metadata server", provider: "gcp", host: "europe-west1-docker.pkg.dev",
			env: func(c *testserver.CloudTokens) map[string]string {
				return map[string]string{"GCE_METADATA_HOST": c.MetadataHost}
			},
			wantUser: "oauth2accesstoken", wantCalls: []string{"metadata:default"},
		},
		{
			name: "gcp with a registry that is not Google's", provider: "gcp", host: "quay.io",
			wantErr: `"quay.io" is not a Google Artifact Registry`,
		},
		{
			name: "unknown provider", provider: "oracle", host: "quay.io",
			wantErr: `unsupported provider "oracle"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testserver.IsolateCloudEnv(t)
			cloud := testserver.NewCloudTokensForTest(t, registryPassword)
			if tt.env != nil {
				for k, v := range tt.env(cloud) {
					t.Setenv(k, v)
				}
			}
			ctx := context.Background()
			auth, err := cloudauth.RegistryAuthenticator(ctx, tt.provider, tt.host, cloudauth.Options{HTTPClient: cloud.Client, Identity: tt.identity})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				if tt.provider == "oracle" && !errors.Is(err, cloudauth.ErrUnsupportedProvider) {
					t.Fatalf("error %v is not ErrUnsupportedProvider", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			if got := cloud.Calls(); strings.Join(got, "\n") != strings.Join(tt.wantCalls, "\n") {
				t.Fatalf("token API calls %q, want %q", got, tt.wantCalls)
			}
			assertRegistryAccepts(t, auth, tt.wantUser)
		})
	}
}

// assertRegistryAccepts pushes an image to a registry that requires
// user and registryPassword, then lists its tags with auth (and fails
// to without it, so the registry does check).
func assertRegistryAccepts(t *testing.T, auth authn.Authenticator, user string) {
	t.Helper()
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{Auth: testserver.BasicAuth{Username: user, Password: registryPassword}})
	testserver.PushRandomImage(t, reg.Host()+"/app:v1", &authn.Basic{Username: user, Password: registryPassword})
	repo, err := oci.ParseRepository(reg.Host()+"/app", true)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := oci.ListTags(ctx, repo, oci.Options{Insecure: true}); !oci.IsAuthError(err) {
		t.Fatalf("anonymous listing: %v, want an authentication error", err)
	}
	tags, err := oci.ListTags(ctx, repo, oci.Options{Insecure: true, Auth: auth})
	if err != nil {
		t.Fatalf("listing with the cloud login: %v", err)
	}
	if len(tags) != 1 || tags[0] != "v1" {
		t.Fatalf("tags %v, want [v1]", tags)
	}
}
