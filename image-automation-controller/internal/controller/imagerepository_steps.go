package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	imagev1 "gotk.dev/pkg/apis/image/v1"
	"gotk.dev/pkg/oci"
	"gotk.dev/pkg/runtime/reconcile"
)

// RevisionAnnotation carries the tag-list revision (or chosen image) on
// the events of the image kinds.
const RevisionAnnotation = "image.toolkit.fluxcd.io/revision"

// repositoryRun is the state shared by the steps of one reconcile.
type repositoryRun struct {
	r          *ImageRepositoryReconciler
	repo       name.Repository
	exclusions oci.Exclusions

	readyReason, readyMessage string
}

// validate parses spec.image and the exclusion list. Both are spec errors:
// it stalls with ImageURLInvalid or InvalidExclusionList. It records
// status.canonicalImageName.
func (run *repositoryRun) validate(_ context.Context, obj *imagev1.ImageRepository) error {
	repo, err := oci.ParseRepository(obj.Spec.Image, obj.Spec.Insecure)
	if err != nil {
		return reconcile.Stall(imagev1.ImageURLInvalidReason, "%s", err)
	}
	run.repo = repo
	obj.Status.CanonicalImageName = repo.Name()
	x, err := oci.CompileExclusions(obj.GetExclusionList())
	if err != nil {
		return reconcile.Stall(InvalidExclusionListReason, "%s", err)
	}
	run.exclusions = x
	return nil
}

// scanDue reports why a scan is needed, or "" when the last scan is still
// fresh: registries rate-limit, so restarts and unrelated events must not
// trigger rescans before the interval has passed.
func (run *repositoryRun) scanDue(obj *imagev1.ImageRepository) string {
	last := obj.Status.LastScanResult
	token, requested := meta.ReconcileAnnotationValue(obj.GetAnnotations())
	switch {
	case last == nil:
		return "never scanned"
	case obj.Generation != obj.Status.ObservedGeneration:
		return "spec changed"
	case requested && token != obj.Status.GetLastHandledReconcileRequest():
		return "reconcile requested"
	case conditions.IsFalse(obj, meta.ReadyCondition):
		// The request that failed counts as handled; the retry must scan
		// again, not report the scan before it as fresh.
		return "last scan failed"
	case !slices.Equal(obj.Status.ObservedExclusionList, obj.GetExclusionList()):
		return "exclusion list changed"
	case !run.r.Store.Has(obj.Namespace, obj.Name):
		return "no stored tags"
	case run.r.now().Sub(last.ScanTime.Time) >= obj.Spec.Interval.Duration:
		return "interval elapsed"
	}
	return ""
}

// scan lists the repository's tags within spec.timeout, drops the
// excluded ones, stores the rest and updates status.lastScanResult. A
// refused login fails with AuthenticationFailed naming the registry; other
// registry errors with ReadOperationFailed; a store failure with
// StorageOperationFailed. All are retried.
func (run *repositoryRun) scan(ctx context.Context, obj *imagev1.ImageRepository) error {
	if run.scanDue(obj) == "" {
		run.readyReason = meta.SucceededReason
		run.readyMessage = scanMessage(obj.Status.LastScanResult.TagCount)
		return nil
	}
	host := run.repo.RegistryStr()
	opts, err := registryOptions(ctx, run.r.Client, obj, host, run.r.WorkloadIdentity)
	if err != nil {
		return err
	}
	timeout := obj.GetTimeout()
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := oci.Scan(sctx, run.repo, opts, run.exclusions)
	switch {
	case err == nil:
	case oci.IsAuthError(err):
		return reconcile.Retry(imagev1.AuthenticationFailedReason, "authentication to registry %s failed: %s", host, err)
	case errors.Is(sctx.Err(), context.DeadlineExceeded):
		return reconcile.Retry(imagev1.ReadOperationFailedReason, "scanning %s timed out after %s", run.repo.Name(), timeout)
	default:
		return reconcile.Retry(imagev1.ReadOperationFailedReason, "%s", err)
	}
	if err := run.r.Store.Set(obj.Namespace, obj.Name, res.Tags); err != nil {
		return reconcile.Retry(StorageOperationFailedReason, "%s", err)
	}

	revision := oci.Revision(res.Tags)
	changed := obj.Status.LastScanResult == nil || obj.Status.LastScanResult.Revision != revision
	obj.Status.LastScanResult = &imagev1.ScanResult{
		Revision:   revision,
		TagCount:   len(res.Tags),
		ScanTime:   metav1.NewTime(run.r.now()),
		LatestTags: oci.LatestTags(res.Tags, oci.LatestTagsCount),
	}
	obj.Status.ObservedExclusionList = obj.GetExclusionList()
	run.readyReason = meta.SucceededReason
	run.readyMessage = scanMessage(len(res.Tags))
	if changed && run.r.Events != nil {
		run.r.Events.AnnotatedEventf(obj, nil, map[string]string{RevisionAnnotation: revision},
			corev1.EventTypeNormal, meta.SucceededReason, "Scan", "%s", fmt.Sprintf("%s in %s", run.readyMessage, run.repo.Name()))
	}
	return nil
}

func scanMessage(n int) string {
	return fmt.Sprintf("successful scan: found %d tags", n)
}
