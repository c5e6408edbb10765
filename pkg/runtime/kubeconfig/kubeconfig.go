// Package kubeconfig turns a `spec.kubeConfig` reference of a Kustomization
// or HelmRelease into a REST config for the remote cluster it names.
//
// A kubeconfig stored in a Secret is written by users, so it is untrusted:
// anything that would make the controller read its own files or run a
// program (exec plugins, auth providers, file paths) is refused.
package kubeconfig

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/fluxcd/pkg/apis/meta"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/pkg/cloudauth"
)

// DefaultSecretKeys are tried in order when a secretRef names no key.
var DefaultSecretKeys = []string{"value", "value.yaml"}

// Error is a kubeconfig that cannot be used; Reason is a condition reason.
type Error struct {
	// Reason is a CamelCase condition reason.
	Reason string
	// Message says what is wrong and where.
	Message string
	// Transient is true when retrying may help (e.g. the Secret is missing).
	Transient bool
}

func (e *Error) Error() string { return e.Message }

// Reasons of the Errors Load returns.
const (
	// ReasonNotFound: the referenced Secret, ConfigMap or key is missing.
	ReasonNotFound = "KubeConfigNotFound"
	// ReasonInvalid: the kubeconfig cannot be parsed or is refused.
	ReasonInvalid = "InvalidKubeConfig"
	// ReasonUnsupported: the reference asks for something gotk does not do.
	ReasonUnsupported = "KubeConfigUnsupported"
	// ReasonTokenFailed: a ServiceAccount token for the remote cluster could not be issued.
	ReasonTokenFailed = "KubeConfigTokenFailed"
)

// Options are the controller-wide settings of Load.
type Options struct {
	// WorkloadIdentity is the ObjectLevelWorkloadIdentity feature gate. A
	// configMapRef makes the controller mint a token of a ServiceAccount of
	// the object's namespace and send it to the address the ConfigMap
	// names, so it is refused unless the gate is on, as in Flux.
	WorkloadIdentity bool
	// DefaultServiceAccount (--default-kubeconfig-service-account) is the
	// ServiceAccount of a ConfigMap that names none.
	DefaultServiceAccount string
	// Cloud carries the token and cluster lookup requests of the aws,
	// azure and gcp providers (its Identity is set per ConfigMap).
	Cloud cloudauth.Options
}

// Load builds the REST config that ref names, reading the Secret or
// ConfigMap in namespace with c. For a configMapRef, c also requests the
// ServiceAccount token, so it needs the right to create serviceaccounts/token.
func Load(ctx context.Context, c client.Client, namespace string, ref *meta.KubeConfigReference, o Options) (*rest.Config, error) {
	switch {
	case ref == nil:
		return nil, &Error{Reason: ReasonInvalid, Message: "spec.kubeConfig is empty"}
	case ref.SecretRef != nil && ref.ConfigMapRef != nil:
		return nil, &Error{Reason: ReasonInvalid, Message: "spec.kubeConfig: set only one of secretRef and configMapRef"}
	case ref.SecretRef != nil:
		return fromSecret(ctx, c, namespace, ref.SecretRef)
	case ref.ConfigMapRef != nil:
		return fromConfigMapRef(ctx, c, namespace, ref.ConfigMapRef.Name, o)
	}
	return nil, &Error{Reason: ReasonInvalid, Message: "spec.kubeConfig: set secretRef or configMapRef"}
}

func fromSecret(ctx context.Context, c client.Reader, namespace string, ref *meta.SecretKeyReference) (*rest.Config, error) {
	var secret corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, &secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &Error{Reason: ReasonNotFound, Transient: true,
				Message: fmt.Sprintf("kubeconfig Secret %s/%s not found", namespace, ref.Name)}
		}
		return nil, err
	}
	keys := DefaultSecretKeys
	if ref.Key != "" {
		keys = []string{ref.Key}
	}
	for _, k := range keys {
		if data, ok := secret.Data[k]; ok {
			cfg, err := Parse(data)
			if err != nil {
				return nil, &Error{Reason: ReasonInvalid,
					Message: fmt.Sprintf("kubeconfig in Secret %s/%s key %q: %v", namespace, ref.Name, k, err)}
			}
			return cfg, nil
		}
	}
	return nil, &Error{Reason: ReasonNotFound, Transient: true,
		Message: fmt.Sprintf("kubeconfig Secret %s/%s has no key %s", namespace, ref.Name, strings.Join(quote(keys), " or "))}
}

// Parse reads a kubeconfig of the current context and refuses what would
// make the controller run programs or read its own files.
func Parse(data []byte) (*rest.Config, error) {
	raw, err := clientcmd.Load(data)
	if err != nil {
		return nil, err
	}
	if err := checkSafe(raw); err != nil {
		return nil, err
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*raw, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

func checkSafe(raw *clientcmdapi.Config) error {
	if raw.CurrentContext == "" && len(raw.Contexts) != 1 {
		return errors.New("no current-context")
	}
	for name, a := range raw.AuthInfos {
		switch {
		case a.Exec != nil:
			return fmt.Errorf("user %q uses an exec plugin, which is not run by the controller; put a token or client certificate in the kubeconfig", name)
		case a.AuthProvider != nil:
			return fmt.Errorf("user %q uses auth provider %q, which is not supported; put a token or client certificate in the kubeconfig", name, a.AuthProvider.Name)
		case a.ClientCertificate != "" || a.ClientKey != "" || a.TokenFile != "":
			return fmt.Errorf("user %q refers to files on disk; embed client-certificate-data, client-key-data or token instead", name)
		}
	}
	for name, cl := range raw.Clusters {
		if cl.CertificateAuthority != "" {
			return fmt.Errorf("cluster %q refers to a CA file on disk; embed certificate-authority-data instead", name)
		}
	}
	return nil
}

// fromConfigMap implements the `generic` provider: the API server address
// and CA come from the ConfigMap, the identity is a token of a
// ServiceAccount of the same namespace, audience-bound to the address.
func fromConfigMap(ctx context.Context, c client.Client, cm *corev1.ConfigMap, defaultSA string) (*rest.Config, error) {
	namespace := cm.Namespace
	where := fmt.Sprintf("kubeconfig ConfigMap %s/%s", namespace, cm.Name)
	address := cm.Data[meta.KubeConfigKeyAddress]
	if address == "" {
		return nil, &Error{Reason: ReasonInvalid, Message: where + ": key \"address\" is required by the generic provider"}
	}
	sa := cm.Data[meta.KubeConfigKeyServiceAccountName]
	if sa == "" {
		sa = defaultSA
	}
	if sa == "" {
		return nil, &Error{Reason: ReasonInvalid, Message: where + ": key \"serviceAccountName\" is required (gotk has no identity of its own to lend; or set --default-kubeconfig-service-account)"}
	}
	audiences := []string{address}
	if a := strings.TrimSpace(cm.Data[meta.KubeConfigKeyAudiences]); a != "" {
		audiences = strings.Fields(a)
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		Audiences: audiences, ExpirationSeconds: ptr.To[int64](3600)}}
	account := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: sa}}
	if err := c.SubResource("token").Create(ctx, account, req); err != nil {
		return nil, &Error{Reason: ReasonTokenFailed, Transient: true,
			Message: fmt.Sprintf("%s: token of ServiceAccount %s/%s: %v", where, namespace, sa, err)}
	}
	return &rest.Config{
		Host:            address,
		BearerToken:     req.Status.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: []byte(cm.Data[meta.KubeConfigKeyCACert])},
	}, nil
}

func quote(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%q", k)
	}
	return out
}
