package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/runtime/kubeconfig"
	"gotk.dev/pkg/runtime/reconcile"

	"gotk.dev/kustomize-controller/internal/drift"
	"gotk.dev/kustomize-controller/internal/remote"
)

// remoteTokenTTL bounds how long a cluster of the generic provider is
// reused: its ServiceAccount token is issued for an hour.
const remoteTokenTTL = 45 * time.Minute

// target returns the client objects are applied with and the drift
// watcher that sees them: the remote cluster's of spec.kubeConfig, or the
// local cluster's (impersonating the service account, if any).
func (r *KustomizationReconciler) target(ctx context.Context, obj *kustomizev1.Kustomization) (client.Client, *drift.Watcher, error) {
	if obj.Spec.KubeConfig != nil {
		cl, err := r.remoteCluster(ctx, obj)
		if err != nil {
			return nil, nil, err
		}
		return cl.Client, cl.Drift, nil
	}
	c, err := r.targetClient(obj)
	if err != nil {
		return nil, nil, reconcile.Stall(kustomizev1.ReconciliationFailedReason, "%s", err)
	}
	return c, r.Drift, nil
}

// remoteCluster returns the cached cluster of spec.kubeConfig, rebuilt only
// when the referenced Secret or ConfigMap changed (its UID and
// resourceVersion, read as metadata only). spec.serviceAccountName is
// impersonated in the remote cluster, as Flux does.
func (r *KustomizationReconciler) remoteCluster(ctx context.Context, obj *kustomizev1.Kustomization) (*remote.Cluster, error) {
	ref := obj.Spec.KubeConfig
	user := remoteUser(obj)
	load := func() (*rest.Config, error) {
		cfg, err := kubeconfig.Load(ctx, r.Client, obj.Namespace, ref, kubeconfig.Options{
			WorkloadIdentity: r.WorkloadIdentity, DefaultServiceAccount: r.DefaultKubeConfigServiceAccount})
		if err != nil {
			return nil, kubeConfigError(obj, err)
		}
		if user != "" {
			cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
		}
		return cfg, nil
	}
	m := &metav1.PartialObjectMetadata{}
	var key string
	var ttl time.Duration
	switch {
	case ref.SecretRef != nil && ref.ConfigMapRef == nil:
		m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
		m.Name = ref.SecretRef.Name
		key = fmt.Sprintf("Secret/%s/%s/%s", obj.Namespace, ref.SecretRef.Name, ref.SecretRef.Key)
	case ref.ConfigMapRef != nil && ref.SecretRef == nil:
		m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
		m.Name = ref.ConfigMapRef.Name
		key = fmt.Sprintf("ConfigMap/%s/%s", obj.Namespace, ref.ConfigMapRef.Name)
		ttl = remoteTokenTTL
	default:
		_, err := load() // the package names what is wrong with the reference
		return nil, err
	}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: m.Name}, m); err != nil {
		if apierrors.IsNotFound(err) {
			if _, err := load(); err != nil {
				return nil, err
			}
			return nil, reconcile.Retry(kustomizev1.ReconciliationFailedReason, "spec.kubeConfig: %s %s/%s changed while it was read", m.Kind, obj.Namespace, m.Name)
		}
		return nil, reconcile.Retry(kustomizev1.ReconciliationFailedReason, "spec.kubeConfig: reading %s %s/%s: %v", m.Kind, obj.Namespace, m.Name, err)
	}
	return r.remoteCache().Get(key+"|"+user, string(m.UID)+"/"+m.ResourceVersion, ttl, load)
}

// remoteUser is the identity used in the remote cluster: the named service
// account, else the kubeconfig's own (--default-service-account is about
// this cluster's tenants and does not apply there).
func remoteUser(obj *kustomizev1.Kustomization) string {
	if sa := obj.Spec.ServiceAccountName; sa != "" {
		return fmt.Sprintf("system:serviceaccount:%s:%s", obj.Namespace, sa)
	}
	return ""
}

// kubeConfigError turns the package's error into a condition: a missing
// Secret is waited for, a bad kubeconfig stalls until the user fixes it.
func kubeConfigError(obj *kustomizev1.Kustomization, err error) error {
	var ke *kubeconfig.Error
	if errors.As(err, &ke) {
		if ke.Transient {
			return reconcile.Wait(obj.GetRetryInterval(), ke.Reason, "%s", ke.Message)
		}
		return reconcile.Stall(ke.Reason, "%s", ke.Message)
	}
	return reconcile.Retry(kustomizev1.ReconciliationFailedReason, "spec.kubeConfig: %s", err)
}

// remoteCache returns the cache of remote clusters, creating it on first
// use for reconcilers set up without SetupWithManager.
func (r *KustomizationReconciler) remoteCache() *remote.Cache {
	r.remoteOnce.Do(func() {
		if r.Remote != nil {
			return
		}
		c := &remote.Cache{Scheme: r.Client.Scheme(), FieldManager: FieldManager}
		if r.Drift != nil {
			c.Notify = r.Drift.Notify
		}
		if r.Config != nil {
			c.QPS, c.Burst = r.Config.QPS, r.Config.Burst
		}
		r.Remote = c
	})
	return r.Remote
}
