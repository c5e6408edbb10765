package cloudauth

import (
	"context"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// AzureDevOpsScope is the Entra scope of Azure DevOps, whose Git HTTP
// endpoints take such a token as a bearer token.
const AzureDevOpsScope = "499b84ac-1321-427f-aa17-267ca6975798/.default"

// AzureDevOpsToken is an Entra token for Azure DevOps with o's
// credentials (the controller's, or o.Identity's workload identity), for
// a GitRepository of provider azure.
func AzureDevOpsToken(ctx context.Context, o Options) (string, error) {
	cred, err := AzureCredential(o)
	if err != nil {
		return "", err
	}
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{AzureDevOpsScope}})
	if err != nil {
		return "", fmt.Errorf("Entra token for Azure DevOps: %v", redact(err))
	}
	return tok.Token, nil
}
