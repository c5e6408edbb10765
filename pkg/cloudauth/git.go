package cloudauth

import (
	"context"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// AzureDevOpsScope is the Entra scope of Azure DevOps, whose Git HTTP
// endpoints take such a token as a bearer token.
const AzureDevOpsScope = "499b84ac-1321-427f-aa17-267ca6975798/.default"

// AzureDevOpsToken is an Entra token for Azure DevOps with o's
// credentials (the controller's, or o.Identity's workload identity), for
// a GitRepository of provider azure.
// Tokens are cached until shortly before they expire.
func AzureDevOpsToken(ctx context.Context, o Options) (string, error) {
	return cachedToken(TokenKey{Provider: ProviderAzure, Identity: IdentityKey(o), Scope: AzureDevOpsScope}, func() (string, time.Time, error) {
		cred, err := AzureCredential(o)
		if err != nil {
			return "", time.Time{}, err
		}
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{AzureDevOpsScope}})
		if err != nil {
			return "", time.Time{}, fmt.Errorf("Entra token for Azure DevOps: %s", concise(err))
		}
		return tok.Token, tok.ExpiresOn, nil
	})
}
