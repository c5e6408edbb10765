package controller

import (
	"context"
	"errors"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/source-controller/internal/cosign"
)

// verificationNotSupportedReason stalls a verification gotk cannot do.
const verificationNotSupportedReason = "VerificationNotSupported"

// verify checks spec.verify against the resolved manifest digest before
// anything is pulled: cosign signatures made with a key pair, against the
// *.pub keys of verify.secretRef. Sets SourceVerified (True, or False with
// VerificationError and no new artifact, retried); keyless cosign and
// notation stall as not supported. Without spec.verify it removes
// SourceVerified.
func (r *OCIRepositoryReconciler) verify(ctx context.Context, s *ociScope) error {
	v := s.obj.Spec.Verify
	if v == nil {
		conditions.Delete(s.obj, sourcev1.SourceVerifiedCondition)
		return nil
	}
	notSupported := func(format string, args ...any) error {
		conditions.MarkFalse(s.obj, sourcev1.SourceVerifiedCondition, verificationNotSupportedReason, format, args...)
		return reconcile.Stall(verificationNotSupportedReason, format, args...)
	}
	fail := func(format string, args ...any) error {
		conditions.MarkFalse(s.obj, sourcev1.SourceVerifiedCondition, sourcev1.VerificationError, format, args...)
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
	data, err := readSecret(ctx, r.Client, s.obj.Namespace, v.SecretRef.Name)
	if err != nil {
		return fail("%v", err)
	}
	keys, err := cosign.PublicKeys(data)
	if err != nil {
		return fail("secret '%s': %v", v.SecretRef.Name, err)
	}
	keyName, err := cosign.Verify(ctx, s.repo, s.digest, keys, s.options)
	if err != nil {
		if errors.Is(err, cosign.ErrNoSignature) {
			return fail("signature verification of '%s' failed: %v", s.revision, err)
		}
		return fail("signature verification of '%s' failed with the keys of secret '%s': %v", s.revision, v.SecretRef.Name, err)
	}
	conditions.MarkTrue(s.obj, sourcev1.SourceVerifiedCondition, meta.SucceededReason,
		"verified signature of revision '%s' with key '%s'", s.revision, keyName)
	return nil
}
