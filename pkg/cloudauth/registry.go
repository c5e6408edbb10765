package cloudauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
)

// Registry host patterns of each cloud's registry, as Flux matches them.
var (
	ecrHost = regexp.MustCompile(`^[0-9]{12}\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$`)
	acrHost = regexp.MustCompile(`^[a-z0-9-]+\.azurecr\.(io|cn|us|de)$`)
	garHost = regexp.MustCompile(`^((.+\.)?gcr\.io|[a-z0-9-]+-docker\.pkg\.dev)$`)
)

// The resource manager audience of each Azure cloud, by ACR's domain:
// ACR exchanges an Entra token of that audience for its refresh token.
var acrScopes = map[string]string{
	"io": "https://management.azure.com/.default",
	"cn": "https://management.chinacloudapi.cn/.default",
	"us": "https://management.usgovcloudapi.net/.default",
	"de": "https://management.microsoftazure.de/.default",
}

// GCPScope is the OAuth2 scope of GCP tokens for Artifact Registry.
const GCPScope = "https://www.googleapis.com/auth/cloud-platform"

// Usernames that go with each cloud's registry token.
const (
	ecrUser = "AWS"
	acrUser = "00000000-0000-0000-0000-000000000000"
	garUser = "oauth2accesstoken"
)

// ErrUnsupportedProvider is returned for a provider name this package
// has no flow for.
var ErrUnsupportedProvider = errors.New("unsupported provider")

// RegistryAuthenticator logs in to the cloud registry at host (a
// registry host, with no scheme or path) with provider's credentials:
// ECR's GetAuthorizationToken (user AWS), ACR's /oauth2/exchange of an
// Entra token for a refresh token (the all-zero user), or a GCP access
// token for Artifact Registry and GCR (user oauth2accesstoken).
// Logins are cached until shortly before they expire.
func RegistryAuthenticator(ctx context.Context, provider, host string, o Options) (authn.Authenticator, error) {
	host = strings.ToLower(host)
	return cachedToken(TokenKey{Provider: provider, Identity: IdentityKey(o), Scope: host}, func() (authn.Authenticator, time.Time, error) {
		switch provider {
		case ProviderAWS:
			return ecrLogin(ctx, host, o)
		case ProviderAzure:
			return acrLogin(ctx, host, o)
		case ProviderGCP:
			return garLogin(ctx, host, o)
		}
		return nil, time.Time{}, fmt.Errorf("%w %q: use aws, azure or gcp", ErrUnsupportedProvider, provider)
	})
}

func ecrLogin(ctx context.Context, host string, o Options) (authn.Authenticator, time.Time, error) {
	m := ecrHost.FindStringSubmatch(host)
	if m == nil {
		return nil, time.Time{}, configError(errNotProviderRegistry, "%q is not an Amazon ECR registry (<account>.dkr.ecr.<region>.amazonaws.com)", host)
	}
	cfg, err := AWSConfig(ctx, m[1], o)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("AWS credentials: %w", err)
	}
	out, err := ecr.NewFromConfig(cfg).GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("ECR GetAuthorizationToken: %w", err)
	}
	if len(out.AuthorizationData) == 0 || out.AuthorizationData[0].AuthorizationToken == nil {
		return nil, time.Time{}, errors.New("ECR GetAuthorizationToken returned no token")
	}
	raw, err := base64.StdEncoding.DecodeString(*out.AuthorizationData[0].AuthorizationToken)
	if err != nil {
		return nil, time.Time{}, errors.New("ECR authorization token is not base64")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user != ecrUser {
		return nil, time.Time{}, errors.New("ECR authorization token is not AWS:<password>")
	}
	return &authn.Basic{Username: user, Password: pass}, aws.ToTime(out.AuthorizationData[0].ExpiresAt), nil
}

func acrLogin(ctx context.Context, host string, o Options) (authn.Authenticator, time.Time, error) {
	m := acrHost.FindStringSubmatch(host)
	if m == nil {
		return nil, time.Time{}, configError(errNotProviderRegistry, "%q is not an Azure Container Registry (<name>.azurecr.io)", host)
	}
	cred, err := AzureCredential(o)
	if err != nil {
		return nil, time.Time{}, err
	}
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{acrScopes[m[1]]}})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("Entra token for ACR: %w", err)
	}
	form := url.Values{"grant_type": {"access_token"}, "service": {host}, "access_token": {tok.Token}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+host+"/oauth2/exchange", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, time.Time{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hc := o.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("ACR token exchange: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, time.Time{}, fmt.Errorf("ACR token exchange: %s", resp.Status)
	}
	var out struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.RefreshToken == "" {
		return nil, time.Time{}, errors.New("ACR token exchange returned no refresh_token")
	}
	// The refresh token outlives the Entra token it was exchanged for.
	return &authn.Basic{Username: acrUser, Password: out.RefreshToken}, tok.ExpiresOn, nil
}

func garLogin(ctx context.Context, host string, o Options) (authn.Authenticator, time.Time, error) {
	if !garHost.MatchString(host) {
		return nil, time.Time{}, configError(errNotProviderRegistry, "%q is not a Google Artifact Registry (<region>-docker.pkg.dev) or GCR (gcr.io) registry", host)
	}
	tok, err := gcpAccessToken(ctx, o)
	if err != nil {
		return nil, time.Time{}, err
	}
	return &authn.Basic{Username: garUser, Password: tok.AccessToken}, tok.Expiry, nil
}
