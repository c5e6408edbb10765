package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	aclapi "github.com/fluxcd/pkg/apis/acl"
	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"gotk.dev/image-automation-controller/internal/policy"
	"gotk.dev/image-automation-controller/internal/tagstore"
	imagev1 "gotk.dev/pkg/apis/image/v1"
	"gotk.dev/pkg/oci"
	"gotk.dev/pkg/runtime/reconcile"
)

// dependencyRetry is how long a policy waits for its repository before
// looking again; the repository watch usually wakes it sooner.
const dependencyRetry = time.Minute

// policyRun is the state shared by the steps of one reconcile.
type policyRun struct {
	r           *ImagePolicyReconciler
	selector    *policy.Selector
	repo        *imagev1.ImageRepository
	tag         string
	imageDigest string

	readyReason, readyMessage string
}

// compile checks the policy rule and tag filter; an invalid semver range,
// regular expression, extract template or order stalls with InvalidPolicy
// and the parse error.
func (run *policyRun) compile(_ context.Context, obj *imagev1.ImagePolicy) error {
	sel, err := policy.New(obj.Spec)
	if err != nil {
		return reconcile.Stall(imagev1.InvalidPolicyReason, "%s", err)
	}
	run.selector = sel
	return nil
}

// repository gets the ImageRepository and checks that it admits this
// policy's namespace. A missing or never scanned repository waits with
// DependencyNotReady; a refused namespace stalls with AccessDenied.
func (run *policyRun) repository(ctx context.Context, obj *imagev1.ImagePolicy) error {
	key := policyRepositoryKey(obj)
	if err := reconcile.CrossNamespaceRef(run.r.NoCrossNamespaceRefs, obj.Namespace, "spec.imageRepositoryRef",
		imagev1.ImageRepositoryKind, key.Namespace, key.Name); err != nil {
		return err
	}
	var repo imagev1.ImageRepository
	if err := run.r.Client.Get(ctx, key, &repo); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Wait(dependencyRetry, imagev1.DependencyNotReadyReason, "%s", run.r.Shard.NotInShard(fmt.Sprintf("ImageRepository %s", key)))
		}
		return reconcile.Retry(imagev1.DependencyNotReadyReason, "getting ImageRepository %s: %s", key, err)
	}
	if key.Namespace != obj.Namespace {
		if err := run.checkAccess(ctx, obj, &repo); err != nil {
			return err
		}
	}
	if repo.Status.LastScanResult == nil || repo.Status.CanonicalImageName == "" {
		return reconcile.Wait(dependencyRetry, imagev1.DependencyNotReadyReason, "ImageRepository %s has not been scanned yet", key)
	}
	run.repo = &repo
	return nil
}

func (run *policyRun) checkAccess(ctx context.Context, obj *imagev1.ImagePolicy, repo *imagev1.ImageRepository) error {
	denied := reconcile.Stall(aclapi.AccessDeniedReason,
		"ImageRepository %s/%s does not admit ImagePolicies from namespace %s (spec.accessFrom)", repo.Namespace, repo.Name, obj.Namespace)
	if repo.Spec.AccessFrom == nil {
		return denied
	}
	var ns corev1.Namespace
	if err := run.r.Client.Get(ctx, types.NamespacedName{Name: obj.Namespace}, &ns); err != nil {
		return reconcile.Retry(aclapi.AccessDeniedReason, "getting namespace %s for the access check: %s", obj.Namespace, err)
	}
	for _, sel := range repo.Spec.AccessFrom.NamespaceSelectors {
		if labels.SelectorFromSet(sel.MatchLabels).Matches(labels.Set(ns.Labels)) {
			return nil
		}
	}
	return denied
}

// selectTag reads the stored tags and applies the rule. No stored tags
// waits with DependencyNotReady, no matching tag waits with NoMatchingTag
// (a push may bring one), a tag the rule cannot order stalls with
// InvalidPolicy (the filter must change).
func (run *policyRun) selectTag(_ context.Context, obj *imagev1.ImagePolicy) error {
	tags, err := run.r.Store.Get(run.repo.Namespace, run.repo.Name)
	if errors.Is(err, tagstore.ErrNotFound) {
		return reconcile.Wait(dependencyRetry, imagev1.DependencyNotReadyReason, "no tags stored for ImageRepository %s/%s yet", run.repo.Namespace, run.repo.Name)
	}
	if err != nil {
		return reconcile.Retry(StorageOperationFailedReason, "%s", err)
	}
	tag, err := run.selector.Select(tags)
	if errors.Is(err, policy.ErrNoMatch) {
		return reconcile.Wait(waitForTags(run.repo), NoMatchingTagReason, "%s in %s: %s", run.selector, run.repo.Status.CanonicalImageName, err)
	}
	if err != nil {
		return reconcile.Stall(imagev1.InvalidPolicyReason, "%s", err)
	}
	run.tag = tag
	return nil
}

func waitForTags(repo *imagev1.ImageRepository) time.Duration {
	if d := repo.Spec.Interval.Duration; d > 0 {
		return d
	}
	return dependencyRetry
}

// reflectDigest resolves the chosen tag's manifest digest as
// digestReflectionPolicy says: never, once per chosen tag (IfNotPresent),
// or on every reconcile (Always). Registry failures are retried with
// AuthenticationFailed or ReadOperationFailed.
func (run *policyRun) reflectDigest(ctx context.Context, obj *imagev1.ImagePolicy) error {
	prev := obj.Status.LatestRef
	switch obj.GetDigestReflectionPolicy() {
	case imagev1.ReflectNever:
		return nil
	case imagev1.ReflectIfNotPresent:
		if prev != nil && prev.Digest != "" && prev.Name == run.repo.Status.CanonicalImageName && prev.Tag == run.tag {
			run.imageDigest = prev.Digest
			return nil
		}
	}
	repoName, err := oci.ParseRepository(run.repo.Spec.Image, run.repo.Spec.Insecure)
	if err != nil {
		return reconcile.Wait(dependencyRetry, imagev1.DependencyNotReadyReason, "ImageRepository %s/%s: %s", run.repo.Namespace, run.repo.Name, err)
	}
	host := repoName.RegistryStr()
	opts, err := registryOptions(ctx, run.r.Client, run.repo, host, run.r.WorkloadIdentity)
	if err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, run.repo.GetTimeout())
	defer cancel()
	d, err := oci.Digest(dctx, repoName, run.tag, opts)
	if oci.IsAuthError(err) {
		return reconcile.Retry(imagev1.AuthenticationFailedReason, "authentication to registry %s failed: %s", host, err)
	}
	if err != nil {
		return reconcile.Retry(imagev1.ReadOperationFailedReason, "%s", err)
	}
	run.imageDigest = d
	return nil
}

// record sets status.latestRef and, when the choice changed, keeps the
// old one in observedPreviousRef and emits an event with the new image.
func (run *policyRun) record(_ context.Context, obj *imagev1.ImagePolicy) error {
	ref := &imagev1.ImageRef{Name: run.repo.Status.CanonicalImageName, Tag: run.tag, Digest: run.imageDigest}
	prev := obj.Status.LatestRef
	changed := prev == nil || *prev != *ref
	if changed && prev != nil {
		p := *prev
		obj.Status.ObservedPreviousRef = &p
	}
	obj.Status.LatestRef = ref
	run.readyReason = meta.SucceededReason
	run.readyMessage = fmt.Sprintf("Latest image tag for %s resolved to %s", ref.Name, ref.Tag)
	if ref.Digest != "" {
		run.readyMessage += " with digest " + ref.Digest
	}
	if changed && run.r.Events != nil {
		msg := run.readyMessage
		if prev != nil && (prev.Name != ref.Name || prev.Tag != ref.Tag) {
			msg = fmt.Sprintf("Latest image tag for %s updated from %s to %s", ref.Name, prev.Tag, ref.Tag)
		}
		run.r.Events.AnnotatedEventf(obj, nil, map[string]string{RevisionAnnotation: ref.String()},
			corev1.EventTypeNormal, meta.SucceededReason, "Select", "%s", msg)
	}
	return nil
}
