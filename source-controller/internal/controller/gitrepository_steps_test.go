package controller

import (
	"errors"
	"fmt"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/git"
	"gotk.dev/pkg/runtime/reconcile"
)

func TestGitError(t *testing.T) {
	cases := []struct {
		err    error
		class  reconcile.Class
		reason string
	}{
		{&git.AuthError{Host: "example.com", Err: errors.New("denied")}, reconcile.Transient, sourcev1.AuthenticationFailedReason},
		{fmt.Errorf("wrapped: %w", &git.AuthError{Host: "h", Err: errors.New("x")}), reconcile.Transient, sourcev1.AuthenticationFailedReason},
		{&git.RefNotFoundError{Ref: "branch 'x'"}, reconcile.Transient, sourcev1.GitOperationFailedReason},
		{&git.SizeLimitError{Limit: 1}, reconcile.Waiting, sourcev1.GitOperationFailedReason},
		{errors.New("connection refused"), reconcile.Transient, sourcev1.GitOperationFailedReason},
	}
	for _, c := range cases {
		e := reconcile.Classify(gitError(c.err), "")
		if e.Class != c.class || e.Reason != c.reason {
			t.Errorf("%v: got %s/%s, want %s/%s", c.err, e.Class, e.Reason, c.class, c.reason)
		}
	}
}

func TestContentConfigUnchanged(t *testing.T) {
	ignore, other := "/a", "/b"
	art := meta.Artifact{Revision: "main@sha1:1", Digest: "sha256:1"}
	inc := []sourcev1.GitRepositoryInclude{{GitRepositoryRef: meta.LocalObjectReference{Name: "lib"}}}
	base := func() *sourcev1.GitRepository {
		o := &sourcev1.GitRepository{}
		o.Spec.Ignore, o.Status.ObservedIgnore = &ignore, &ignore
		o.Spec.Include, o.Status.ObservedInclude = inc, inc
		o.Status.IncludedArtifacts = []*meta.Artifact{art.DeepCopy()}
		return o
	}
	included := []resolvedInclude{{spec: inc[0], artifact: art}}
	cases := map[string]struct {
		mutate func(*sourcev1.GitRepository)
		incs   []resolvedInclude
		want   bool
	}{
		"same":             {func(*sourcev1.GitRepository) {}, included, true},
		"ignore changed":   {func(o *sourcev1.GitRepository) { o.Spec.Ignore = &other }, included, false},
		"ignore removed":   {func(o *sourcev1.GitRepository) { o.Spec.Ignore = nil }, included, false},
		"sparse added":     {func(o *sourcev1.GitRepository) { o.Spec.SparseCheckout = []string{"x"} }, included, false},
		"submodules added": {func(o *sourcev1.GitRepository) { o.Spec.RecurseSubmodules = true }, included, false},
		"include removed":  {func(o *sourcev1.GitRepository) { o.Spec.Include = nil }, nil, false},
		"included changed": {func(*sourcev1.GitRepository) {}, []resolvedInclude{{spec: inc[0], artifact: meta.Artifact{Revision: "main@sha1:2"}}}, false},
	}
	for name, c := range cases {
		o := base()
		c.mutate(o)
		if got := contentConfigUnchanged(o, c.incs); got != c.want {
			t.Errorf("%s: got %v, want %v", name, got, c.want)
		}
	}
}

func TestVerifyUpToDate(t *testing.T) {
	g := NewWithT(t)
	o := &sourcev1.GitRepository{}
	g.Expect(verifyUpToDate(o)).To(BeTrue())
	o.Spec.Verification = &sourcev1.GitRepositoryVerification{Mode: sourcev1.ModeGitHEAD}
	g.Expect(verifyUpToDate(o)).To(BeFalse())
	mode := sourcev1.ModeGitHEAD
	o.Status.SourceVerificationMode = &mode
	conditions.MarkTrue(o, sourcev1.SourceVerifiedCondition, meta.SucceededReason, "ok")
	g.Expect(verifyUpToDate(o)).To(BeTrue())
	o.Spec.Verification.Mode = sourcev1.ModeGitTagAndHEAD
	g.Expect(verifyUpToDate(o)).To(BeFalse())
}
