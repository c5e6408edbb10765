package cloudauth

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/pkg/runtime/reconcile"
)

// AzureDevOpsScope is the Entra scope of Azure DevOps, whose Git HTTP
// endpoints take such a token as a bearer token.
const AzureDevOpsScope = "499b84ac-1321-427f-aa17-267ca6975798/.default"

// AzureDevOpsToken is an Entra token for Azure DevOps with o's
// credentials (the controller's, or o.Identity's workload identity), for
// a GitRepository of provider azure.
// Tokens are cached until shortly before they expire.
func AzureDevOpsToken(ctx context.Context, o Options) (string, error) {
	return azureToken(ctx, AzureDevOpsScope, "Azure DevOps", o)
}

// AzureDevOpsLogin is AzureDevOpsToken for an object of provider azure:
// its identity, and errors typed for the reconcile skeleton (a
// ServiceAccount without the Azure annotations stalls, refused
// credentials are retried).
func (a ObjectAuth) AzureDevOpsLogin(ctx context.Context, c client.Client, o Options) (string, error) {
	id, err := a.Identity(ctx, c)
	if err != nil {
		return "", err
	}
	o.Identity = id
	tok, err := AzureDevOpsToken(ctx, o)
	switch {
	case IsConfigError(err):
		return "", reconcile.Stall(InvalidProviderConfigurationReason, "provider azure: %v", err)
	case err != nil:
		return "", reconcile.Retry(AuthenticationFailedReason, "provider azure: %v", err)
	}
	return tok, nil
}
