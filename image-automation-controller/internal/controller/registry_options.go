package controller

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	imagev1 "gotk.dev/pkg/apis/image/v1"
	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/git"
	"gotk.dev/pkg/oci"
	"gotk.dev/pkg/runtime/reconcile"
)

// Reasons this controller adds to those of the image API.
const (
	// InvalidExclusionListReason means an exclusionList entry is not a
	// valid regular expression.
	InvalidExclusionListReason = "InvalidExclusionList"
	// StorageOperationFailedReason means the local tag store could not be
	// read or written.
	StorageOperationFailedReason = "StorageOperationFailed"
	// NoMatchingTagReason means no tag of the repository passes the
	// ImagePolicy's filter and rule yet.
	NoMatchingTagReason = "NoMatchingTag"
)

// registryOptions builds the registry client settings of an
// ImageRepository: credentials from a cloud provider's login (with the
// controller's identity, or spec.serviceAccountName's workload identity
// when workloadIdentity, the ObjectLevelWorkloadIdentity gate, is on),
// otherwise from secretRef or the service account's image pull secrets;
// TLS from certSecretRef, proxy from proxySecretRef. Its errors are typed
// for the skeleton and never carry secret values.
func registryOptions(ctx context.Context, c client.Client, obj *imagev1.ImageRepository, repoHost string, workloadIdentity bool) (oci.Options, error) {
	// spec.insecure is applied when parsing the image (plain HTTP allowed).
	opts := oci.Options{UserAgent: "gotk-image-automation-controller"}
	ns := obj.Namespace
	if p := obj.GetProvider(); p != imagev1.GenericProvider {
		a := cloudauth.ObjectAuth{Provider: p, Namespace: ns, ServiceAccountName: obj.Spec.ServiceAccountName,
			WorkloadIdentity: workloadIdentity, Field: "spec.serviceAccountName"}
		auth, err := a.RegistryLogin(ctx, c, repoHost, cloudauth.Options{})
		if err != nil {
			return opts, err
		}
		opts.Auth = auth
		return transportOptions(ctx, c, obj, opts)
	}

	var pullSecrets []string
	if obj.Spec.SecretRef != nil {
		pullSecrets = append(pullSecrets, obj.Spec.SecretRef.Name)
	}
	if sa := obj.Spec.ServiceAccountName; sa != "" {
		var acct corev1.ServiceAccount
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: sa}, &acct); err != nil {
			return opts, reconcile.Retry(imagev1.AuthenticationFailedReason, "getting service account %s/%s: %s", ns, sa, apiErrorText(err))
		}
		for _, ref := range acct.ImagePullSecrets {
			pullSecrets = append(pullSecrets, ref.Name)
		}
	}
	for _, name := range pullSecrets {
		secret, err := getSecret(ctx, c, ns, name)
		if err != nil {
			return opts, reconcile.Retry(imagev1.AuthenticationFailedReason, "%s", err)
		}
		data, ok := secret.Data[corev1.DockerConfigJsonKey]
		if !ok {
			return opts, reconcile.Retry(imagev1.AuthenticationFailedReason, "secret %s/%s has no %q key; create it with type kubernetes.io/dockerconfigjson", ns, name, corev1.DockerConfigJsonKey)
		}
		auth, err := oci.AuthFromDockerConfig(data, repoHost)
		if errors.Is(err, oci.ErrNoCredentials) {
			continue
		}
		if err != nil {
			return opts, reconcile.Retry(imagev1.AuthenticationFailedReason, "secret %s/%s: %s", ns, name, err)
		}
		opts.Auth = auth
		break
	}
	if obj.Spec.SecretRef != nil && opts.Auth == nil {
		return opts, reconcile.Retry(imagev1.AuthenticationFailedReason, "secret %s/%s holds no credentials for registry %s", ns, obj.Spec.SecretRef.Name, repoHost)
	}
	return transportOptions(ctx, c, obj, opts)
}

// transportOptions adds the TLS settings of certSecretRef and the proxy
// of proxySecretRef to opts.
func transportOptions(ctx context.Context, c client.Client, obj *imagev1.ImageRepository, opts oci.Options) (oci.Options, error) {
	ns := obj.Namespace

	if ref := obj.Spec.CertSecretRef; ref != nil {
		secret, err := getSecret(ctx, c, ns, ref.Name)
		if err != nil {
			return opts, reconcile.Retry(imagev1.AuthenticationFailedReason, "%s", err)
		}
		cfg, err := oci.TLSConfig(secret.Data["ca.crt"], secret.Data["tls.crt"], secret.Data["tls.key"])
		if err != nil {
			return opts, reconcile.Retry(imagev1.AuthenticationFailedReason, "certSecretRef %s/%s: %s", ns, ref.Name, err)
		}
		opts.TLS = cfg
	}

	if ref := obj.Spec.ProxySecretRef; ref != nil {
		secret, err := getSecret(ctx, c, ns, ref.Name)
		if err != nil {
			return opts, reconcile.Retry(imagev1.AuthenticationFailedReason, "%s", err)
		}
		u, err := git.ProxyURL(secret.Data)
		if err != nil {
			return opts, reconcile.Retry(imagev1.AuthenticationFailedReason, "proxySecretRef %s/%s: %v", ns, ref.Name, err)
		}
		opts.Proxy = u
	}
	return opts, nil
}

func getSecret(ctx context.Context, c client.Client, ns, name string) (*corev1.Secret, error) {
	var s corev1.Secret
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &s); err != nil {
		return nil, fmt.Errorf("getting secret %s/%s: %s", ns, name, apiErrorText(err))
	}
	return &s, nil
}

func apiErrorText(err error) string {
	if apierrors.IsNotFound(err) {
		return "not found"
	}
	return err.Error()
}
