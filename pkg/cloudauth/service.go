package cloudauth

import (
	"context"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Scopes of the cloud services a bearer token is asked for.
const (
	// EventHubsScope is the Entra scope of Azure Event Hubs.
	EventHubsScope = "https://eventhubs.azure.net/.default"
	// gcpAccessScope keys GCP access tokens in the cache apart from the
	// managed clusters' tokens, which are cached under GCPScope.
	gcpAccessScope = "access-token " + GCPScope
)

// BearerToken is a bearer token of provider for a cloud service with o's
// credentials (the controller's, or o.Identity's workload identity): an
// Entra token for scope (azure), or a GCP access token of the
// cloud-platform scope (gcp; scope is not used). Tokens are cached until
// shortly before they expire; errors are configuration errors
// (IsConfigError) or refused and failed requests.
func BearerToken(ctx context.Context, provider, scope string, o Options) (string, error) {
	switch provider {
	case ProviderAzure:
		return azureToken(ctx, scope, scope, o)
	case ProviderGCP:
		return cachedToken(TokenKey{Provider: ProviderGCP, Identity: IdentityKey(o), Scope: gcpAccessScope}, func() (string, time.Time, error) {
			tok, err := gcpAccessToken(ctx, o)
			if err != nil {
				return "", time.Time{}, err
			}
			return tok.AccessToken, tok.Expiry, nil
		})
	}
	return "", configError(ErrUnsupportedProvider, "provider %q has no bearer tokens (want %s or %s)", provider, ProviderAzure, ProviderGCP)
}

// azureToken is an Entra token for scope, cached; name says what it is
// for in errors.
func azureToken(ctx context.Context, scope, name string, o Options) (string, error) {
	return cachedToken(TokenKey{Provider: ProviderAzure, Identity: IdentityKey(o), Scope: scope}, func() (string, time.Time, error) {
		cred, err := AzureCredential(o)
		if err != nil {
			return "", time.Time{}, err
		}
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
		if err != nil {
			return "", time.Time{}, fmt.Errorf("Entra token for %s: %s", name, concise(err))
		}
		return tok.Token, tok.ExpiresOn, nil
	})
}
