package controller

import (
	"context"
	"errors"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/google/go-containerregistry/pkg/name"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/oci"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/source-controller/internal/cosign"
)

// verificationNotSupportedReason stalls a verification gotk cannot do.
const verificationNotSupportedReason = "VerificationNotSupported"

// verify checks spec.verify against the resolved manifest digest before
// anything is pulled (see verifyOCI). Without spec.verify it removes
// SourceVerified.
func (r *OCIRepositoryReconciler) verify(ctx context.Context, s *ociScope) error {
	v := s.obj.Spec.Verify
	if v == nil {
		conditions.Delete(s.obj, sourcev1.SourceVerifiedCondition)
		return nil
	}
	return verifyOCI(ctx, r.Client, s.obj, &v.OCIVerification, ociTarget{repo: s.repo, digest: s.digest, revision: s.revision, options: s.options})
}

// ociTarget is the OCI artifact a verification is about.
type ociTarget struct {
	repo     name.Repository
	digest   string // manifest digest, sha256:<hex>
	revision string // as messages name it
	options  oci.Options
}

// verifyOCI checks cosign signatures made with a key pair, against the
// *.pub keys of verify.secretRef in obj's namespace, and sets
// SourceVerified: True naming the key, or False with VerificationError
// (retried; the caller stores nothing). Keyless cosign and notation stall
// as not supported.
func verifyOCI(ctx context.Context, c client.Client, obj conditions.Setter, v *sourcev1.OCIVerification, t ociTarget) error {
	notSupported := func(format string, args ...any) error {
		conditions.MarkFalse(obj, sourcev1.SourceVerifiedCondition, verificationNotSupportedReason, format, args...)
		return reconcile.Stall(verificationNotSupportedReason, format, args...)
	}
	fail := func(format string, args ...any) error {
		conditions.MarkFalse(obj, sourcev1.SourceVerifiedCondition, sourcev1.VerificationError, format, args...)
		return reconcile.Retry(sourcev1.VerificationError, format, args...)
	}
	switch {
	case v.Provider == sourcev1.NotationVerificationProvider:
		return notSupported("verification with provider 'notation' is not supported by gotk; use cosign with a public key")
	case v.Provider != "" && v.Provider != sourcev1.CosignVerificationProvider:
		return notSupported("verification provider '%s' is not supported", v.Provider)
	case v.SecretRef == nil:
		return notSupported("keyless cosign verification is not supported by gotk: set verify.secretRef to a Secret with *.pub public keys")
	}
	data, err := readSecret(ctx, c, obj.GetNamespace(), v.SecretRef.Name)
	if err != nil {
		return fail("%v", err)
	}
	keys, err := cosign.PublicKeys(data)
	if err != nil {
		return fail("secret '%s': %v", v.SecretRef.Name, err)
	}
	keyName, err := cosign.Verify(ctx, t.repo, t.digest, keys, t.options)
	if err != nil {
		if errors.Is(err, cosign.ErrNoSignature) {
			return fail("signature verification of '%s' failed: %v", t.revision, err)
		}
		return fail("signature verification of '%s' failed with the keys of secret '%s': %v", t.revision, v.SecretRef.Name, err)
	}
	conditions.MarkTrue(obj, sourcev1.SourceVerifiedCondition, meta.SucceededReason,
		"verified signature of revision '%s' with key '%s'", t.revision, keyName)
	return nil
}
