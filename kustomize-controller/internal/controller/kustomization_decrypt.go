package controller

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/runtime/manager"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/sops"
)

// DecryptionFailedReason is Ready's reason when SOPS decryption fails.
const DecryptionFailedReason = "DecryptionFailed"

// decryptor returns the SOPS decryptor of a Kustomization: the keys of
// spec.decryption.secretRef, the age keys of the controller-wide
// --sops-age-secret, and for key types with no key there, the SDKs'
// default credential chains. Without spec.decryption it is nil, so an
// encrypted file fails the build (naming it) instead of being applied
// encrypted.
func (r *KustomizationReconciler) decryptor(ctx context.Context, obj *kustomizev1.Kustomization) (*sops.Decryptor, error) {
	spec := obj.Spec.Decryption
	if spec == nil {
		return nil, nil
	}
	var opts sops.Options
	if spec.Provider != "sops" {
		return nil, reconcile.Stall(DecryptionFailedReason, "decryption provider %q is not supported: use sops", spec.Provider)
	}
	if spec.ServiceAccountName != "" && !r.WorkloadIdentity {
		return nil, reconcile.FeatureGateDisabled(manager.GateObjectLevelWorkloadIdentity, "spec.decryption.serviceAccountName")
	}
	if sa := spec.ServiceAccountName; sa != "" || (r.WorkloadIdentity && r.DefaultDecryptionServiceAccount != "") {
		if sa == "" {
			sa = r.DefaultDecryptionServiceAccount
		}
		id, err := r.decryptionIdentity(ctx, obj, sa)
		if err != nil {
			return nil, err
		}
		opts.Identity = id
	}
	d, _ := sops.NewDecryptorWithOptions(nil, opts)
	type ref struct {
		key     client.ObjectKey
		ageOnly bool // the controller-wide Secret lends only age keys, as in Flux
	}
	var refs []ref
	if r.SOPSAgeSecret.Name != "" {
		refs = append(refs, ref{key: r.SOPSAgeSecret, ageOnly: true})
	}
	if spec.SecretRef != nil {
		refs = append(refs, ref{key: client.ObjectKey{Namespace: obj.Namespace, Name: spec.SecretRef.Name}})
	}
	for _, ref := range refs {
		key := ref.key
		var s corev1.Secret
		if err := r.APIReader.Get(ctx, key, &s); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, reconcile.Wait(obj.GetRetryInterval(), DecryptionFailedReason, "decryption Secret %s not found", key)
			}
			return nil, reconcile.Retry(DecryptionFailedReason, "reading decryption Secret %s: %v", key, err)
		}
		for name, b := range s.Data {
			if ref.ageOnly && !strings.HasSuffix(name, sops.AgeKeySuffix) {
				continue
			}
			if err := d.AddKey(name, b); err != nil {
				return nil, reconcile.Wait(obj.GetRetryInterval(), DecryptionFailedReason, "decryption Secret %s: %v", key, err)
			}
		}
	}
	return d, nil
}

// decryptionIdentity is the workload identity of a ServiceAccount of the
// Kustomization's namespace: its annotations name the cloud identity, and
// the controller mints its tokens (short-lived, audience-bound) for the
// cloud's token service.
func (r *KustomizationReconciler) decryptionIdentity(ctx context.Context, obj *kustomizev1.Kustomization, name string) (*cloudauth.ServiceAccountIdentity, error) {
	key := client.ObjectKey{Namespace: obj.Namespace, Name: name}
	var sa corev1.ServiceAccount
	if err := r.APIReader.Get(ctx, key, &sa); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, reconcile.Wait(obj.GetRetryInterval(), DecryptionFailedReason, "decryption ServiceAccount %s not found", key)
		}
		return nil, reconcile.Retry(DecryptionFailedReason, "reading decryption ServiceAccount %s: %v", key, err)
	}
	return cloudauth.ForServiceAccount(r.Client, &sa), nil
}
