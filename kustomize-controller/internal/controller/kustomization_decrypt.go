package controller

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
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
	d, _ := sops.NewDecryptor(nil)
	if spec.Provider != "sops" {
		return nil, reconcile.Stall(DecryptionFailedReason, "decryption provider %q is not supported: use sops", spec.Provider)
	}
	if spec.ServiceAccountName != "" {
		if !r.WorkloadIdentity {
			return nil, reconcile.FeatureGateDisabled(manager.GateObjectLevelWorkloadIdentity, "spec.decryption.serviceAccountName")
		}
		return nil, reconcile.Stall(DecryptionFailedReason, "spec.decryption.serviceAccountName (cloud KMS) is not supported yet")
	}
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
