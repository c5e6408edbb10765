package kubeconfig

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"golang.org/x/oauth2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/runtime/manager"
	"gotk.dev/pkg/runtime/reconcile"
)

// More reasons of the Errors Load returns.
const (
	// ReasonClusterLookupFailed: the cloud's API could not describe the
	// cluster (not found, denied, unreachable); retried.
	ReasonClusterLookupFailed = "KubeConfigClusterLookupFailed"
)

// KubeConfigKeyCluster is the ConfigMap key naming a managed cluster in
// its cloud's terms (EKS ARN, AKS resource ID, GKE resource name).
const KubeConfigKeyCluster = "cluster"

// providerGeneric is the provider of a ConfigMap that names only an
// address: a ServiceAccount token of this cluster is the identity.
const providerGeneric = "generic"

// tokenRefreshMargin: a cloud token is replaced this long before it
// expires, so no request carries one that expires in flight.
const tokenRefreshMargin = time.Minute

// fromConfigMapRef reads the ConfigMap of a configMapRef and builds the
// config of its provider: generic (a ServiceAccount token of this
// cluster), or aws, azure or gcp (the cloud's token for its managed
// cluster, with the controller's credentials or, behind the
// ObjectLevelWorkloadIdentity gate, those of serviceAccountName).
func fromConfigMapRef(ctx context.Context, c client.Client, namespace, name string, o Options) (*rest.Config, error) {
	gateErr := &Error{Reason: meta.FeatureGateDisabledReason, Message: reconcile.FeatureGateDisabled(
		manager.GateObjectLevelWorkloadIdentity, "spec.kubeConfig.configMapRef with a ServiceAccount (a token minted by the controller)").Error()}
	var cm corev1.ConfigMap
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &cm); err != nil {
		if !o.WorkloadIdentity {
			// Only a cloud provider without a ServiceAccount works with
			// the gate off; unread, this one may need it.
			return nil, gateErr
		}
		if apierrors.IsNotFound(err) {
			return nil, &Error{Reason: ReasonNotFound, Transient: true,
				Message: fmt.Sprintf("kubeconfig ConfigMap %s/%s not found", namespace, name)}
		}
		return nil, err
	}
	where := fmt.Sprintf("kubeconfig ConfigMap %s/%s", namespace, name)
	sa := cm.Data[meta.KubeConfigKeyServiceAccountName]
	if sa == "" {
		sa = o.DefaultServiceAccount
	}
	switch p := cm.Data[meta.KubeConfigKeyProvider]; p {
	case providerGeneric:
		if !o.WorkloadIdentity {
			return nil, gateErr
		}
		return fromConfigMap(ctx, c, &cm, o.DefaultServiceAccount)
	case cloudauth.ProviderAWS, cloudauth.ProviderAzure, cloudauth.ProviderGCP:
		if sa != "" && !o.WorkloadIdentity {
			return nil, gateErr
		}
		return fromProvider(ctx, c, &cm, where, sa, o)
	case "":
		return nil, &Error{Reason: ReasonInvalid, Message: where + ": key \"provider\" is required (generic, aws, azure or gcp)"}
	default:
		return nil, &Error{Reason: ReasonUnsupported,
			Message: fmt.Sprintf("%s: provider %q is not supported; use generic, aws, azure or gcp, or a secretRef", where, p)}
	}
}

// fromProvider builds the config of a cloud's managed cluster: the
// endpoint and CA given or looked up, and a token that is fetched now
// (so a refused login is reported at once) and refreshed before it
// expires for as long as the config is used.
func fromProvider(ctx context.Context, c client.Client, cm *corev1.ConfigMap, where, sa string, o Options) (*rest.Config, error) {
	mc := cloudauth.ManagedCluster{
		Provider: cm.Data[meta.KubeConfigKeyProvider],
		Cluster:  cm.Data[KubeConfigKeyCluster],
		Address:  cm.Data[meta.KubeConfigKeyAddress],
		CAData:   []byte(cm.Data[meta.KubeConfigKeyCACert]),
	}
	co := o.Cloud
	if sa != "" {
		var account corev1.ServiceAccount
		if err := c.Get(ctx, client.ObjectKey{Namespace: cm.Namespace, Name: sa}, &account); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, &Error{Reason: ReasonNotFound, Transient: true,
					Message: fmt.Sprintf("%s: ServiceAccount %s/%s not found", where, cm.Namespace, sa)}
			}
			return nil, err
		}
		co.Identity = cloudauth.ForServiceAccount(c, &account)
	}
	ep, err := mc.Endpoint(ctx, co)
	if err != nil {
		return nil, providerError(where, mc.Provider, err)
	}
	tok, err := mc.Token(ctx, co)
	if err != nil {
		return nil, providerError(where, mc.Provider, err)
	}
	cfg := &rest.Config{Host: ep.Address, TLSClientConfig: rest.TLSClientConfig{CAData: ep.CAData}}
	first := &oauth2.Token{AccessToken: tok.Token, TokenType: "Bearer", Expiry: tok.Expiry}
	cfg.Wrap(transport.TokenSourceWrapTransport(
		oauth2.ReuseTokenSourceWithExpiry(first, clusterTokens{cluster: mc, opts: co}, tokenRefreshMargin)))
	return cfg, nil
}

// clusterTokens fetches a new token of a managed cluster when the last
// one is about to expire.
type clusterTokens struct {
	cluster cloudauth.ManagedCluster
	opts    cloudauth.Options
}

func (s clusterTokens) Token() (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tok, err := s.cluster.Token(ctx, s.opts)
	if err != nil {
		return nil, fmt.Errorf("provider %s: token for cluster %s: %w", s.cluster.Provider, s.cluster.Cluster, err)
	}
	return &oauth2.Token{AccessToken: tok.Token, TokenType: "Bearer", Expiry: tok.Expiry}, nil
}

// providerError names the failure of a cloud provider: a wrong cluster
// name or identity stalls, a failed lookup or login is retried.
func providerError(where, provider string, err error) error {
	msg := fmt.Sprintf("%s: provider %s: %v", where, provider, err)
	switch {
	case errors.Is(err, cloudauth.ErrUnsupportedProvider):
		return &Error{Reason: ReasonUnsupported, Message: msg}
	case cloudauth.IsConfigError(err):
		return &Error{Reason: ReasonInvalid, Message: msg}
	case errors.Is(err, cloudauth.ErrClusterLookup):
		return &Error{Reason: ReasonClusterLookupFailed, Transient: true, Message: msg}
	}
	return &Error{Reason: ReasonTokenFailed, Transient: true, Message: msg}
}
