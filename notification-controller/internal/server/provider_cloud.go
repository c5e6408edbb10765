package server

import (
	"context"
	"fmt"

	"gotk.dev/notification-controller/internal/notifier"
	notificationv1 "gotk.dev/pkg/apis/notification/v1beta3"
	"gotk.dev/pkg/cloudauth"
)

// cloudTypes are the Provider types that authenticate with a cloud
// identity, as in Flux: the cloudauth provider and the token's scope.
var cloudTypes = map[string]struct{ provider, scope string }{
	notificationv1.GooglePubSubProvider:  {provider: cloudauth.ProviderGCP},
	notificationv1.AzureEventHubProvider: {provider: cloudauth.ProviderAzure, scope: cloudauth.EventHubsScope},
	notificationv1.AzureDevOpsProvider:   {provider: cloudauth.ProviderAzure, scope: cloudauth.AzureDevOpsScope},
}

// withCloudIdentity gives a cloud type's Provider its bearer tokens: the
// controller's own cloud credentials, or with spec.serviceAccountName
// that ServiceAccount's workload identity (a token of it, minted through
// the TokenRequest API, exchanged at the cloud's token service); a
// googlepubsub Provider's service account key needs neither. Its
// errors are typed (reconcile.Error): the feature gate off is refused
// (FeatureGateDisabled), a missing ServiceAccount is an authentication
// failure.
func (s *EventServer) withCloudIdentity(ctx context.Context, p *notificationv1.Provider, cfg *notifier.Config) error {
	cloud, ok := cloudTypes[p.Spec.Type]
	if !ok {
		if p.Spec.ServiceAccountName != "" {
			// Flux ignores it on the other types, so a Provider written for
			// Flux is delivered the same here; the log says it is unused.
			s.Log.V(1).Info("spec.serviceAccountName is only used by the azuredevops, azureeventhub and googlepubsub types",
				"provider", p.Namespace+"/"+p.Name, "type", p.Spec.Type)
		}
		return nil
	}
	cfg.CloudClient = s.CloudHTTPClient
	if p.Spec.Type == notificationv1.GooglePubSubProvider && cfg.Token != "" {
		// As in Flux, a service account key in the Secret takes precedence:
		// no identity is looked up and spec.serviceAccountName is unused.
		if p.Spec.ServiceAccountName != "" {
			s.Log.V(1).Info("spec.serviceAccountName is unused: the Secret's service account key takes precedence",
				"provider", p.Namespace+"/"+p.Name)
		}
		return nil
	}
	a := cloudauth.ObjectAuth{Provider: cloud.provider, Namespace: p.Namespace, ServiceAccountName: p.Spec.ServiceAccountName,
		WorkloadIdentity: s.WorkloadIdentity, Field: "spec.serviceAccountName of a " + p.Spec.Type + " Provider"}
	id, err := a.Identity(ctx, s.Tokens)
	if err != nil {
		return err
	}
	o := cloudauth.Options{HTTPClient: s.CloudHTTPClient, Identity: id}
	if id != nil {
		cfg.CloudIdentity = "ServiceAccount " + id.Name
	}
	cfg.CloudToken = func(ctx context.Context) (string, error) {
		tok, err := cloudauth.BearerToken(ctx, cloud.provider, cloud.scope, o)
		if err != nil {
			return "", fmt.Errorf("provider %s: %v", cloud.provider, err)
		}
		return tok, nil
	}
	return nil
}
