package controller

import (
	"context"
	"fmt"
	"strings"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/runtime/reconcile"
)

// verifyUpToDate reports whether the stored artifact was verified under
// the spec's current verification mode (or none is asked for).
func verifyUpToDate(obj *sourcev1.GitRepository) bool {
	v := obj.Spec.Verification
	if v == nil {
		return true
	}
	m := obj.Status.SourceVerificationMode
	return m != nil && *m == v.GetMode() && conditions.IsTrue(obj, sourcev1.SourceVerifiedCondition)
}

// reconcileVerify checks the OpenPGP signatures spec.verify asks for (the
// HEAD commit, the annotated tag, or both) against the public keys in the
// referenced Secret, with the object's own keys even on a shared
// checkout. Sets SourceVerified (True, or False with VerificationError);
// a failure publishes no artifact and is retried.
func (run *gitRun) reconcileVerify(ctx context.Context, obj *sourcev1.GitRepository) error {
	v := obj.Spec.Verification
	if v == nil {
		conditions.Delete(obj, sourcev1.SourceVerifiedCondition)
		obj.Status.SourceVerificationMode = nil
		return nil
	}
	if run.upToDate {
		return nil // verified when the stored artifact was built
	}
	fail := func(format string, args ...any) error {
		conditions.MarkFalse(obj, sourcev1.SourceVerifiedCondition, sourcev1.VerificationError, format, args...)
		return reconcile.Retry(sourcev1.VerificationError, format, args...)
	}
	data, err := run.r.secretData(ctx, obj.Namespace, v.SecretRef.Name)
	if err != nil {
		return fail("%v", err)
	}
	var keyRings [][]byte
	for _, k := range data {
		keyRings = append(keyRings, k)
	}
	commit := run.lease.Commit
	var verified []string
	if v.VerifyTag() {
		if commit.Tag == nil {
			return fail("cannot verify a tag signature: the reference is not an annotated tag")
		}
		id, err := commit.Tag.Signed.Verify(keyRings...)
		if err != nil {
			return fail("signature verification of tag '%s' failed: %v", commit.Tag.Name, err)
		}
		verified = append(verified, fmt.Sprintf("tag '%s' with key '%s'", commit.Tag.Name, id))
	}
	if v.VerifyHEAD() {
		id, err := commit.Signed.Verify(keyRings...)
		if err != nil {
			return fail("signature verification of commit '%s' failed: %v", commit.Hash, err)
		}
		verified = append(verified, fmt.Sprintf("commit '%s' with key '%s'", commit.Hash, id))
	}
	mode := v.GetMode()
	obj.Status.SourceVerificationMode = &mode
	conditions.MarkTrue(obj, sourcev1.SourceVerifiedCondition, meta.SucceededReason, "verified signature of %s", strings.Join(verified, ", "))
	return nil
}
