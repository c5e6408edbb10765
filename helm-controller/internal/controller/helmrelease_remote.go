package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	"gotk.dev/pkg/runtime/kubeconfig"
	"gotk.dev/pkg/runtime/reconcile"

	"gotk.dev/helm-controller/internal/action"
)

// issuedTokenTTL is how long the config of a configMapRef kubeConfig is
// reused: its identity is a ServiceAccount token issued for an hour.
const issuedTokenTTL = 30 * time.Minute

// clients returns the Kubernetes clients of the release: the
// controller's, those of spec.serviceAccountName (else
// --default-service-account), or with spec.kubeConfig those of the remote
// cluster, where serviceAccountName is impersonated.
func (run *releaseRun) clients(ctx context.Context, obj *helmv2.HelmRelease) (*action.Clients, error) {
	if obj.Spec.KubeConfig != nil {
		return run.remoteClients(ctx, obj)
	}
	if sa := run.r.serviceAccount(obj); sa != "" {
		if run.r.ImpersonationClients == nil {
			return nil, reconcile.Stall(ReasonUnsupported, "spec.serviceAccountName is not supported by this controller")
		}
		c, err := run.r.ImpersonationClients(obj.Namespace, sa)
		if err != nil {
			return nil, reconcile.Retry(helmv2.InitFailedReason, "clients for service account %s/%s: %w", obj.Namespace, sa, err)
		}
		return c, nil
	}
	return run.r.Clients, nil
}

// remoteClients returns the shared clients of the cluster spec.kubeConfig
// names. The referenced Secret or ConfigMap is read on every reconcile
// (its UID and resourceVersion key the cache); the kubeconfig is parsed
// and the clients built only when it changed.
func (run *releaseRun) remoteClients(ctx context.Context, obj *helmv2.HelmRelease) (*action.Clients, error) {
	if run.r.Remotes == nil {
		return nil, reconcile.Stall(ReasonUnsupported, "spec.kubeConfig is not supported by this controller")
	}
	ref := obj.Spec.KubeConfig
	load := func() (*rest.Config, error) {
		return kubeconfig.Load(ctx, run.r.Client, obj.Namespace, ref, kubeconfig.Options{
			WorkloadIdentity: run.r.WorkloadIdentity, DefaultServiceAccount: run.r.DefaultKubeConfigServiceAccount})
	}
	key, version, ttl, err := kubeConfigVersion(ctx, run.r.Client, obj)
	if err != nil {
		// Load names what is missing or wrong in the package's terms.
		if _, lerr := load(); lerr != nil {
			err = lerr
		}
		return nil, run.kubeConfigError(err)
	}
	user := ""
	if sa := obj.Spec.ServiceAccountName; sa != "" {
		user = action.ServiceAccountUser(obj.Namespace, sa)
	}
	c, err := run.r.Remotes.Clients(key, version, ttl, user, load)
	if err != nil {
		return nil, run.kubeConfigError(err)
	}
	return c, nil
}

// serviceAccount is the account releases of obj are made as in this
// cluster: spec.serviceAccountName, else --default-service-account.
func (r *HelmReleaseReconciler) serviceAccount(obj *helmv2.HelmRelease) string {
	if sa := obj.Spec.ServiceAccountName; sa != "" {
		return sa
	}
	return r.DefaultServiceAccount
}

// kubeConfigError classifies a kubeconfig failure: a missing Secret or
// key is waited for, a refused or broken kubeconfig stalls until the
// HelmRelease changes or a reconcile is requested (the Secret is not
// watched).
func (run *releaseRun) kubeConfigError(err error) error {
	var ke *kubeconfig.Error
	if errors.As(err, &ke) {
		if ke.Transient {
			return reconcile.Wait(run.r.depRequeue(), ke.Reason, "%s", ke.Message)
		}
		return reconcile.Stall(ke.Reason, "%s", ke.Message)
	}
	return reconcile.Retry(helmv2.InitFailedReason, "clients for spec.kubeConfig: %w", err)
}

// kubeConfigVersion returns the cache key and version of the object obj's
// kubeConfig reads, and how long a config loaded from it may be used (0:
// as long as the object is unchanged).
func kubeConfigVersion(ctx context.Context, c client.Reader, obj *helmv2.HelmRelease) (key, version string, ttl time.Duration, err error) {
	ref := obj.Spec.KubeConfig
	var src client.Object
	var name string
	switch {
	case ref.SecretRef != nil && ref.ConfigMapRef == nil:
		src, name = &corev1.Secret{}, ref.SecretRef.Name
	case ref.ConfigMapRef != nil && ref.SecretRef == nil:
		src, name, ttl = &corev1.ConfigMap{}, ref.ConfigMapRef.Name, issuedTokenTTL
	default:
		return "", "", 0, errors.New("spec.kubeConfig: set exactly one of secretRef and configMapRef")
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: name}, src); err != nil {
		return "", "", 0, err
	}
	return remoteKey(obj), string(src.GetUID()) + "/" + src.GetResourceVersion(), ttl, nil
}

// remoteKey is the cache key of obj's kubeConfig reference, "" without one.
func remoteKey(obj *helmv2.HelmRelease) string {
	switch ref := obj.Spec.KubeConfig; {
	case ref == nil:
		return ""
	case ref.SecretRef != nil:
		return fmt.Sprintf("Secret/%s/%s/%s", obj.Namespace, ref.SecretRef.Name, ref.SecretRef.Key)
	case ref.ConfigMapRef != nil:
		return fmt.Sprintf("ConfigMap/%s/%s", obj.Namespace, ref.ConfigMapRef.Name)
	}
	return ""
}
