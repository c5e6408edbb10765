package controller

import (
	"context"
	"errors"
	"fmt"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/root"
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
	return verifyOCI(ctx, r.Client, s.obj, &v.OCIVerification, v.TrustedRootSecretRef, ociTarget{repo: s.repo, digest: s.digest, revision: s.revision, options: s.options})
}

// ociTarget is the OCI artifact a verification is about.
type ociTarget struct {
	repo     name.Repository
	digest   string // manifest digest, sha256:<hex>
	revision string // as messages name it
	options  oci.Options
}

// verifyOCI checks cosign signatures through sigstore: with the *.pub
// keys of verify.secretRef in obj's namespace, or without it keyless,
// against the trusted root of trustedRootRef (or the controller's, see
// cosign.SetDefaultTrustedRoot) and verify.matchOIDCIdentity. It sets
// SourceVerified: True naming the key or identity, or False with
// VerificationError (retried; the caller stores nothing). An invalid
// matchOIDCIdentity stalls. Provider notation is verifyNotation.
func verifyOCI(ctx context.Context, c client.Client, obj conditions.Setter, v *sourcev1.OCIVerification, trustedRootRef *meta.LocalObjectReference, t ociTarget) error {
	stall := func(reason, format string, args ...any) error {
		conditions.MarkFalse(obj, sourcev1.SourceVerifiedCondition, reason, format, args...)
		return reconcile.Stall(reason, format, args...)
	}
	fail := func(format string, args ...any) error {
		conditions.MarkFalse(obj, sourcev1.SourceVerifiedCondition, sourcev1.VerificationError, format, args...)
		return reconcile.Retry(sourcev1.VerificationError, format, args...)
	}
	switch {
	case v.Provider == sourcev1.NotationVerificationProvider:
		return verifyNotation(ctx, c, obj, v, t, stall, fail)
	case v.Provider != "" && v.Provider != sourcev1.CosignVerificationProvider:
		return stall(verificationNotSupportedReason, "verification provider '%s' is not supported", v.Provider)
	}
	var p cosign.Policy
	var trustedBy string // names the keys' or root's source in messages
	if v.SecretRef != nil {
		data, err := readSecret(ctx, c, obj.GetNamespace(), v.SecretRef.Name)
		if err != nil {
			return fail("%v", err)
		}
		if p.Keys, err = cosign.PublicKeys(data); err != nil {
			return fail("secret '%s': %v", v.SecretRef.Name, err)
		}
		trustedBy = fmt.Sprintf(" with the keys of secret '%s'", v.SecretRef.Name)
	} else {
		for _, id := range v.MatchOIDCIdentity {
			p.Identities = append(p.Identities, cosign.Identity{Issuer: id.Issuer, Subject: id.Subject})
		}
		if err := cosign.CheckIdentities(p.Identities); err != nil {
			return stall(sourcev1.VerificationError, "invalid verify.%v", err)
		}
		tm, by, err := trustedRoot(ctx, c, obj.GetNamespace(), trustedRootRef)
		if err != nil {
			return fail("%v", err)
		}
		p.TrustedRoot, trustedBy = tm, by
	}
	r, err := cosign.Verify(ctx, t.repo, t.digest, p, t.options)
	if err != nil {
		if errors.Is(err, cosign.ErrNoSignature) {
			return fail("signature verification of '%s' failed: %v", t.revision, err)
		}
		return fail("signature verification of '%s' failed%s: %v", t.revision, trustedBy, err)
	}
	conditions.MarkTrue(obj, sourcev1.SourceVerifiedCondition, meta.SucceededReason,
		"verified signature of revision '%s' with %s", t.revision, r)
	return nil
}

// trustedRoot is the Sigstore trusted root of a keyless verification:
// the trusted_root.json of ref's Secret, or else the controller's. The
// string names it in messages.
func trustedRoot(ctx context.Context, c client.Client, ns string, ref *meta.LocalObjectReference) (root.TrustedMaterial, string, error) {
	if ref == nil {
		tm, err := cosign.DefaultTrustedRoot()
		return tm, "", err
	}
	data, err := readSecret(ctx, c, ns, ref.Name)
	if err != nil {
		return nil, "", err
	}
	raw, ok := data[cosign.TrustedRootKey]
	if !ok {
		return nil, "", fmt.Errorf("secret '%s' has no '%s' key", ref.Name, cosign.TrustedRootKey)
	}
	tm, err := cosign.ParseTrustedRoot(raw)
	if err != nil {
		return nil, "", fmt.Errorf("secret '%s' key '%s': %v", ref.Name, cosign.TrustedRootKey, err)
	}
	return tm, fmt.Sprintf(" against the trusted root of secret '%s'", ref.Name), nil
}
