package cloudauth

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/pkg/runtime/manager"
	"gotk.dev/pkg/runtime/reconcile"
)

// Reasons of the conditions a cloud login sets.
const (
	// AuthenticationFailedReason: the login failed (credentials refused,
	// token service unreachable); retried.
	AuthenticationFailedReason = "AuthenticationFailed"
	// InvalidProviderConfigurationReason: the provider cannot be used as
	// configured (not the provider's registry, a ServiceAccount without
	// the annotations naming a cloud identity); stalls.
	InvalidProviderConfigurationReason = "InvalidProviderConfiguration"
)

// ObjectAuth is what an object says about its cloud login.
type ObjectAuth struct {
	// Provider is the object's provider field (aws, azure or gcp).
	Provider string
	// Namespace is the object's namespace.
	Namespace string
	// ServiceAccountName, when set, is the ServiceAccount whose workload
	// identity is used instead of the controller's own credentials.
	ServiceAccountName string
	// WorkloadIdentity is the controller's ObjectLevelWorkloadIdentity
	// feature gate.
	WorkloadIdentity bool
	// Field names ServiceAccountName in messages, e.g.
	// "spec.serviceAccountName".
	Field string
}

// Identity returns the ServiceAccount identity the object names, nil when
// it names none. Its errors are typed for the reconcile skeleton: the gate
// off stalls (FeatureGateDisabled), a missing ServiceAccount waits.
func (a ObjectAuth) Identity(ctx context.Context, c client.Client) (*ServiceAccountIdentity, error) {
	if a.ServiceAccountName == "" {
		return nil, nil
	}
	if !a.WorkloadIdentity {
		return nil, reconcile.FeatureGateDisabled(manager.GateObjectLevelWorkloadIdentity, a.Field+" with provider "+a.Provider)
	}
	key := client.ObjectKey{Namespace: a.Namespace, Name: a.ServiceAccountName}
	var sa corev1.ServiceAccount
	if err := c.Get(ctx, key, &sa); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, reconcile.Retry(AuthenticationFailedReason, "ServiceAccount %s of %s not found", key, a.Field)
		}
		return nil, reconcile.Retry(AuthenticationFailedReason, "reading ServiceAccount %s: %v", key, err)
	}
	return ForServiceAccount(c, &sa), nil
}

// RegistryLogin is RegistryAuthenticator for an object: its identity,
// typed errors (a registry of another provider or an unknown provider
// stalls; a refused or failed login is retried), and messages that name
// the provider and registry.
func (a ObjectAuth) RegistryLogin(ctx context.Context, c client.Client, host string, o Options) (authn.Authenticator, error) {
	id, err := a.Identity(ctx, c)
	if err != nil {
		return nil, err
	}
	o.Identity = id
	auth, err := RegistryAuthenticator(ctx, a.Provider, host, o)
	switch {
	case err == nil:
		return auth, nil
	case errors.Is(err, ErrUnsupportedProvider), errors.Is(err, errNotProviderRegistry), errors.Is(err, errIdentityConfig):
		return nil, reconcile.Stall(InvalidProviderConfigurationReason, "provider %s: %v", a.Provider, err)
	}
	return nil, reconcile.Retry(AuthenticationFailedReason, "provider %s login to %s: %v", a.Provider, host, redact(err))
}

// redact removes anything token-like an SDK error could quote.
func redact(err error) string {
	return tokenLike.ReplaceAllString(err.Error(), "<redacted>")
}

var tokenLike = regexp.MustCompile(`(?i)(token|secret|assertion|password)=[^&\s"]+`)

var (
	errNotProviderRegistry = errors.New("not the provider's registry")
	errIdentityConfig      = errors.New("workload identity configuration")
)

// configError marks err as a configuration error (stalls) of kind.
func configError(kind error, format string, args ...any) error {
	return &classified{kind: kind, err: fmt.Errorf(format, args...)}
}

type classified struct {
	kind error
	err  error
}

func (c *classified) Error() string        { return c.err.Error() }
func (c *classified) Is(target error) bool { return target == c.kind }
