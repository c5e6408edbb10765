package controller

import (
	"context"
	"errors"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/source-controller/internal/notation"
)

// verifyNotation checks the notation signatures of t with the trust
// policy (trustpolicy.json) and certificates (*.crt, *.pem) of
// verify.secretRef. A missing secretRef stalls: notation has no keyless
// mode. A missing or bad Secret, no signature or none that verifies is a
// VerificationError (retried; the caller stores nothing). A trust policy
// of level skip verifies nothing and removes SourceVerified.
func verifyNotation(ctx context.Context, c client.Client, obj conditions.Setter, v *sourcev1.OCIVerification, t ociTarget,
	stall func(reason, format string, args ...any) error, fail func(format string, args ...any) error) error {
	if v.SecretRef == nil {
		return stall(sourcev1.VerificationError, "verification with provider 'notation' needs verify.secretRef: a Secret with '%s' and the trusted certificates", notation.TrustPolicyKey)
	}
	data, err := readSecret(ctx, c, obj.GetNamespace(), v.SecretRef.Name)
	if err != nil {
		return fail("%v", err)
	}
	p, err := notation.ParsePolicy(data)
	if err != nil {
		return fail("secret '%s': %v", v.SecretRef.Name, err)
	}
	r, err := notation.Verify(ctx, t.repo, t.digest, p, t.options)
	if err != nil {
		if errors.Is(err, notation.ErrNoSignature) {
			return fail("signature verification of '%s' failed: %v", t.revision, err)
		}
		return fail("signature verification of '%s' failed with the trust policy of secret '%s': %v", t.revision, v.SecretRef.Name, err)
	}
	if r.Skipped {
		conditions.Delete(obj, sourcev1.SourceVerifiedCondition)
		return nil
	}
	conditions.MarkTrue(obj, sourcev1.SourceVerifiedCondition, meta.SucceededReason,
		"verified signature of revision '%s' with %s", t.revision, r)
	return nil
}
