package controller

import (
	"log/slog"

	"bytes"
	"context"
	"fmt"
	"github.com/go-logr/logr"
	"strings"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	helmaction "helm.sh/helm/v4/pkg/action"
	releasecommon "helm.sh/helm/v4/pkg/release/common"
	helmrelease "helm.sh/helm/v4/pkg/release/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/runtime/kubeconfig"
	"gotk.dev/pkg/runtime/reconcile"

	"gotk.dev/helm-controller/internal/action"
	"gotk.dev/helm-controller/internal/chart"
	"gotk.dev/helm-controller/internal/drift"
	"gotk.dev/helm-controller/internal/release"
	"gotk.dev/pkg/helm/postrender"
)

// maxActions bounds the Helm actions of one reconcile (e.g. unlock,
// upgrade, test); a release that needs more is retried later.
const maxActions = 6

// reconcileRelease brings the Helm release to the desired state, one
// decided action at a time (release.Next), and stops as soon as nothing
// is left to do. An unchanged, deployed release costs one storage read
// and no Helm action.
func (run *releaseRun) reconcileRelease(ctx context.Context, obj *helmv2.HelmRelease) error {
	clients, err := run.clients(ctx, obj)
	if err != nil {
		return err
	}
	if err := run.uninstallMoved(ctx, clients, obj); err != nil {
		return err
	}
	configure := clients.Configuration
	if !obj.UsePersistentClient() {
		configure = clients.FreshConfiguration
	}
	cfg, err := configure(obj.GetStorageNamespace(), obj.GetReleaseNamespace(), helmLogger(ctx))
	if err != nil {
		return reconcile.Retry(helmv2.InitFailedReason, "Helm configuration: %w", err)
	}
	obj.Status.StorageNamespace = obj.GetStorageNamespace()

	d := run.desired(obj)
	if helmv2.ShouldHandleResetRequest(obj) || release.DesiredChanged(obj, d) {
		obj.Status.ClearFailures()
	}
	d.Force = helmv2.ShouldHandleForceRequest(obj)

	for i := 0; i < maxActions; i++ {
		cur, err := action.Last(cfg, obj.GetReleaseName())
		if err != nil {
			return reconcile.Retry(helmv2.GetLastReleaseFailedReason, "reading release %s from storage: %w", obj.GetReleaseName(), err)
		}
		next := release.Next(obj, cur, d)
		ctrl.LoggerFrom(ctx).V(1).Info("next release action", "action", next.Action, "why", next.Message)
		switch next.Action {
		case release.None:
			if err := run.checkDrift(ctx, cfg, clients, obj, cur); err != nil {
				return err
			}
			if err := recordInventory(cfg, obj, cur); err != nil {
				return err
			}
			run.inSync(obj, cur)
			return nil
		case release.Unlock:
			if err := action.Unlock(cfg, cur); err != nil {
				return reconcile.Retry(helmv2.GetLastReleaseFailedReason, "%w", err)
			}
			run.event(obj, corev1.EventTypeWarning, "Unlocked", fmt.Sprintf("%s; marked failed so it can be recovered", next.Message))
			release.Record(&obj.Status.History, release.NewSnapshot(cur, "unlock", d.OCIDigest), release.IgnoreTestFailures(obj))
		case release.Stall:
			msg := next.Message
			if m := conditions.GetMessage(obj, helmv2.ReleasedCondition); m != "" && !conditions.IsTrue(obj, helmv2.ReleasedCondition) {
				msg += "; last failure: " + m
			}
			return reconcile.Stall(release.ReasonRetriesExceeded, "%s", msg)
		case release.Install, release.Upgrade:
			if err := run.release(ctx, cfg, obj, next.Action, d); err != nil {
				return err
			}
			d.Force = false
		case release.Test:
			if err := run.test(ctx, cfg, obj, d); err != nil {
				return err
			}
		}
	}
	return reconcile.Retry(helmv2.ProgressingWithRetryReason, "release %s did not settle after %d Helm actions", obj.GetReleaseName(), maxActions)
}

// desired is what this reconcile asks of the release.
func (run *releaseRun) desired(obj *helmv2.HelmRelease) release.Desired {
	d := release.Desired{
		ChartName:    run.chart.Name(),
		ChartVersion: run.chart.Metadata.Version,
		ConfigDigest: run.valuesDigest,
		Revision:     run.chart.Metadata.Version,
	}
	if digestSource(run.sourceKind) {
		d.OCIDigest = run.artifact.Digest
		if _, dg, ok := strings.Cut(run.artifact.Revision, "@"); ok {
			d.OCIDigest = dg
		}
		if _, hex, ok := strings.Cut(d.OCIDigest, ":"); ok && len(hex) >= 12 {
			d.Revision += "+" + hex[:12]
		}
	}
	observed := obj.Status.ObservedPostRenderersDigest
	d.SettingsChanged = observed != "" && observed != postrender.Digest(obj)
	return d
}

// digestSource reports whether charts of a source kind are tracked by
// artifact digest as well as chart version: an OCIRepository or an
// ExternalArtifact can publish new content under an unchanged version.
func digestSource(kind string) bool {
	return kind == sourcev1.OCIRepositoryKind || kind == sourcev1.ExternalArtifactKind
}

// release runs an install or upgrade and records it; a failure goes to
// remediation.
func (run *releaseRun) release(ctx context.Context, cfg *helmaction.Configuration, obj *helmv2.HelmRelease, act release.Action, d release.Desired) error {
	obj.Status.LastAttemptedReleaseAction = helmv2.ReleaseAction(act)
	obj.Status.LastAttemptedRevision = d.Revision
	obj.Status.LastAttemptedRevisionDigest = run.artifact.Digest
	obj.Status.LastAttemptedConfigDigest = d.ConfigDigest
	obj.Status.LastAttemptedGeneration = obj.Generation

	start := time.Now()
	var err error
	pr := postrender.For(obj)
	if act == release.Install {
		_, err = action.Install(ctx, cfg, obj, chart.Clone(run.chart), run.values, pr)
	} else {
		_, err = action.Upgrade(ctx, cfg, obj, chart.Clone(run.chart), run.values, pr)
	}
	obj.Status.LastAttemptedReleaseActionDuration = &metav1.Duration{Duration: time.Since(start).Round(time.Millisecond)}
	cur, lerr := action.Last(cfg, obj.GetReleaseName())
	if lerr == nil && cur != nil {
		release.Record(&obj.Status.History, release.NewSnapshot(cur, string(act), d.OCIDigest), release.IgnoreTestFailures(obj))
		obj.Status.LastReleaseRevision = cur.Version
	}
	target := fmt.Sprintf("release %s/%s with chart %s@%s", obj.GetReleaseNamespace(), obj.GetReleaseName(), d.ChartName, d.ChartVersion)
	if cur != nil {
		target = fmt.Sprintf("release %s with chart %s@%s", release.FullName(cur), d.ChartName, d.ChartVersion)
	}
	if err != nil {
		reason := helmv2.UpgradeFailedReason
		if act == release.Install {
			reason = helmv2.InstallFailedReason
		}
		msg := fmt.Sprintf("Helm %s failed for %s: %s", act, target, err)
		// When the API server was unreachable the chart and values were
		// not at fault: no failure is counted, so remediation and retry
		// limits stay untouched.
		unavailable := reconcile.APIUnavailable(err)
		if unavailable {
			msg += " (the Kubernetes API was unavailable: retrying without counting a failure)"
		}
		conditions.MarkFalse(obj, helmv2.ReleasedCondition, reason, "%s", msg)
		run.event(obj, corev1.EventTypeWarning, reason, msg)
		if unavailable {
			return reconcile.Retry(reason, "%s", msg)
		}
		return run.remediate(ctx, cfg, obj, reason, msg)
	}
	reason := helmv2.UpgradeSucceededReason
	if act == release.Install {
		reason = helmv2.InstallSucceededReason
	}
	msg := fmt.Sprintf("Helm %s succeeded for %s", act, target)
	conditions.MarkTrue(obj, helmv2.ReleasedCondition, reason, "%s", msg)
	conditions.Delete(obj, helmv2.RemediatedCondition)
	conditions.Delete(obj, helmv2.TestSuccessCondition)
	obj.Status.ObservedPostRenderersDigest = postrender.Digest(obj)
	obj.Status.ObservedCommonMetadataDigest = obj.Status.ObservedPostRenderersDigest
	run.event(obj, corev1.EventTypeNormal, reason, msg)
	return nil
}

// test runs the chart's tests; a failure that is not ignored goes to
// remediation like a failed install or upgrade.
func (run *releaseRun) test(ctx context.Context, cfg *helmaction.Configuration, obj *helmv2.HelmRelease, d release.Desired) error {
	rls, err := action.Test(cfg, obj)
	if rls != nil {
		s := release.NewSnapshot(rls, "", d.OCIDigest)
		if latest := obj.Status.History.Latest(); latest != nil && latest.Targets(rls.Name, rls.Namespace, rls.Version) {
			s.Action = latest.Action
		}
		s.SetTestHooks(release.TestHooks(rls))
		release.Record(&obj.Status.History, s, release.IgnoreTestFailures(obj))
	} else if latest := obj.Status.History.Latest(); latest != nil {
		// The release could not be read; mark it tested so the failure
		// is not retried in a loop.
		latest.SetTestHooks(latest.GetTestHooks())
	}
	target := fmt.Sprintf("release %s/%s", obj.GetReleaseNamespace(), obj.GetReleaseName())
	if rls != nil {
		target = fmt.Sprintf("release %s with chart %s@%s", release.FullName(rls), d.ChartName, d.ChartVersion)
	}
	if err != nil {
		msg := fmt.Sprintf("Helm test failed for %s: %s", target, err)
		conditions.MarkFalse(obj, helmv2.TestSuccessCondition, helmv2.TestFailedReason, "%s", msg)
		run.event(obj, corev1.EventTypeWarning, helmv2.TestFailedReason, msg)
		if release.IgnoreTestFailures(obj) {
			return nil
		}
		return run.remediate(ctx, cfg, obj, helmv2.TestFailedReason, msg)
	}
	n := 0
	if rls != nil {
		n = len(release.TestHooks(rls))
	}
	msg := fmt.Sprintf("Helm test succeeded for %s: %d test hook(s) completed successfully", target, n)
	if n == 0 {
		msg = fmt.Sprintf("Helm test succeeded for %s: no test hooks", target)
	}
	conditions.MarkTrue(obj, helmv2.TestSuccessCondition, helmv2.TestSucceededReason, "%s", msg)
	run.event(obj, corev1.EventTypeNormal, helmv2.TestSucceededReason, msg)
	return nil
}

// remediate counts a failure of the last install or upgrade and, per the
// action's strategy and remediation settings, rolls back or uninstalls.
// It returns the error that makes the skeleton retry (retries left),
// wait (RetryOnFailure) or stall (retries exhausted).
func (run *releaseRun) remediate(ctx context.Context, cfg *helmaction.Configuration, obj *helmv2.HelmRelease, reason, msg string) error {
	rem := obj.GetActiveRemediation()
	if rem == nil {
		return reconcile.Retry(reason, "%s", msg)
	}
	rem.IncrementFailureCount(obj)
	obj.Status.Failures++
	if name, interval := run.strategy(obj); name == helmv2.ActionStrategyRetryOnFailure {
		return reconcile.Wait(interval, reason, "%s", msg)
	}
	exhausted := rem.RetriesExhausted(obj)
	if !exhausted || rem.MustRemediateLastFailure() {
		if err := run.remediateWith(ctx, cfg, obj, rem.GetStrategy()); err != nil {
			return err
		}
	}
	if exhausted {
		return reconcile.Stall(release.ReasonRetriesExceeded, "%s (%s retries exhausted after %d attempt(s))",
			msg, obj.Status.LastAttemptedReleaseAction, rem.GetFailureCount(obj))
	}
	return reconcile.Retry(reason, "%s", msg)
}

func (run *releaseRun) strategy(obj *helmv2.HelmRelease) (helmv2.ActionStrategyName, time.Duration) {
	if obj.Status.LastAttemptedReleaseAction == helmv2.ReleaseActionInstall {
		in := obj.GetInstall()
		return in.GetStrategyName(), in.Strategy.GetRetryInterval()
	}
	up := obj.GetUpgrade()
	return up.GetStrategyName(), up.Strategy.GetRetryInterval()
}

// remediateWith rolls the release back to the previous good snapshot, or
// uninstalls it, and records the outcome in the Remediated condition.
func (run *releaseRun) remediateWith(ctx context.Context, cfg *helmaction.Configuration, obj *helmv2.HelmRelease, strategy helmv2.RemediationStrategy) error {
	ignoreTests := release.IgnoreTestFailures(obj)
	if strategy == helmv2.RollbackRemediationStrategy {
		prev := obj.Status.History.Previous(ignoreTests)
		if prev == nil {
			// Nothing to roll back to: uninstall instead, as a failed first
			// release leaves nothing worth keeping.
			return run.remediateWith(ctx, cfg, obj, helmv2.UninstallRemediationStrategy)
		}
		if err := action.Rollback(cfg, obj, prev.Version); err != nil {
			msg := fmt.Sprintf("Helm rollback to previous release %s with chart %s failed: %s", prev.FullReleaseName(), prev.VersionedChartName(), err)
			conditions.MarkTrue(obj, helmv2.RemediatedCondition, helmv2.RollbackFailedReason, "%s", msg)
			run.event(obj, corev1.EventTypeWarning, helmv2.RollbackFailedReason, msg)
			run.recordLast(cfg, obj, "rollback")
			return reconcile.Retry(helmv2.RollbackFailedReason, "%s", msg)
		}
		run.recordLast(cfg, obj, "rollback")
		msg := fmt.Sprintf("Helm rollback to previous release %s with chart %s succeeded", prev.FullReleaseName(), prev.VersionedChartName())
		conditions.MarkTrue(obj, helmv2.RemediatedCondition, helmv2.RollbackSucceededReason, "%s", msg)
		run.event(obj, corev1.EventTypeNormal, helmv2.RollbackSucceededReason, msg)
		return nil
	}
	target := fmt.Sprintf("release %s/%s", obj.GetReleaseNamespace(), obj.GetReleaseName())
	if latest := obj.Status.History.Latest(); latest != nil {
		target = fmt.Sprintf("release %s with chart %s", latest.FullReleaseName(), latest.VersionedChartName())
	}
	if _, err := action.Uninstall(cfg, obj, obj.GetReleaseName(), "Uninstalled by the helm-controller to remediate a failure"); err != nil {
		msg := fmt.Sprintf("Helm uninstall failed for %s: %s", target, err)
		conditions.MarkTrue(obj, helmv2.RemediatedCondition, helmv2.UninstallFailedReason, "%s", msg)
		run.event(obj, corev1.EventTypeWarning, helmv2.UninstallFailedReason, msg)
		return reconcile.Retry(helmv2.UninstallFailedReason, "%s", msg)
	}
	if latest := obj.Status.History.Latest(); latest != nil {
		latest.Status = releasecommon.StatusUninstalled.String()
		latest.Deleted = metav1.Now()
	}
	msg := fmt.Sprintf("Helm uninstall succeeded for %s", target)
	conditions.MarkTrue(obj, helmv2.RemediatedCondition, helmv2.UninstallSucceededReason, "%s", msg)
	run.event(obj, corev1.EventTypeNormal, helmv2.UninstallSucceededReason, msg)
	return nil
}

// recordLast records the latest release in storage in status.history.
func (run *releaseRun) recordLast(cfg *helmaction.Configuration, obj *helmv2.HelmRelease, act string) {
	if cur, err := action.Last(cfg, obj.GetReleaseName()); err == nil && cur != nil {
		release.Record(&obj.Status.History, release.NewSnapshot(cur, act, ""), release.IgnoreTestFailures(obj))
		obj.Status.LastReleaseRevision = cur.Version
	}
}

// checkDrift compares the release's objects with the cluster when
// driftDetection asks for it: mode warn reports drift in the Drifted
// condition, mode enabled puts the objects back (server-side apply).
func (run *releaseRun) checkDrift(ctx context.Context, cfg *helmaction.Configuration, clients *action.Clients, obj *helmv2.HelmRelease, cur *helmrelease.Release) error {
	dd := run.r.driftDetection(obj)
	if !dd.MustDetectChanges() {
		conditions.Delete(obj, helmv2.DriftedCondition)
		return nil
	}
	resources, err := cfg.KubeClient.Build(bytes.NewBufferString(cur.Manifest), false)
	if err != nil {
		return reconcile.Retry(ReasonDriftDetectionFailed, "reading the manifest of release %s: %w", release.FullName(cur), err)
	}
	drifted, err := drift.Detect(ctx, clients.Dynamic(), drift.Release{Name: cur.Name, Namespace: cur.Namespace}, resources, dd.Ignore)
	if err != nil {
		return reconcile.Retry(ReasonDriftDetectionFailed, "detecting drift of release %s: %w", release.FullName(cur), err)
	}
	if len(drifted) == 0 {
		conditions.Delete(obj, helmv2.DriftedCondition)
		return nil
	}
	names := make([]string, len(drifted))
	for i, d := range drifted {
		names[i] = d.String()
	}
	msg := fmt.Sprintf("Cluster state of release %s has drifted from the desired state: %s", release.FullName(cur), strings.Join(names, ", "))
	if dd.GetMode() == helmv2.DriftDetectionWarn {
		conditions.MarkTrue(obj, helmv2.DriftedCondition, helmv2.DriftDetectedReason, "%s", msg)
		run.event(obj, corev1.EventTypeWarning, helmv2.DriftDetectedReason, msg)
		return nil
	}
	if err := drift.Correct(ctx, drifted); err != nil {
		conditions.MarkTrue(obj, helmv2.DriftedCondition, helmv2.DriftDetectedReason, "%s; correction failed: %s", msg, err)
		return reconcile.Retry(helmv2.DriftDetectedReason, "%s; correction failed: %w", msg, err)
	}
	conditions.Delete(obj, helmv2.DriftedCondition)
	run.event(obj, corev1.EventTypeNormal, helmv2.DriftDetectedReason, msg+"; corrected")
	return nil
}

// inSync finishes a reconcile whose release needs nothing: Ready takes
// the Released condition's reason and message.
func (run *releaseRun) inSync(obj *helmv2.HelmRelease, cur *helmrelease.Release) {
	obj.Status.ClearFailures()
	if !conditions.IsTrue(obj, helmv2.ReleasedCondition) {
		conditions.MarkTrue(obj, helmv2.ReleasedCondition, helmv2.UpgradeSucceededReason,
			"release %s with chart %s is up to date", release.FullName(cur), cur.Chart.Metadata.Name+"@"+cur.Chart.Metadata.Version)
	}
	conditions.Delete(obj, helmv2.RemediatedCondition)
	if obj.Status.ObservedPostRenderersDigest == "" {
		obj.Status.ObservedPostRenderersDigest = postrender.Digest(obj)
		obj.Status.ObservedCommonMetadataDigest = obj.Status.ObservedPostRenderersDigest
	}
	run.readyReason = conditions.GetReason(obj, helmv2.ReleasedCondition)
	run.readyMessage = conditions.GetMessage(obj, helmv2.ReleasedCondition)
	if obj.GetTest().Enable && conditions.IsTrue(obj, helmv2.TestSuccessCondition) {
		run.readyReason = helmv2.TestSucceededReason
		run.readyMessage = conditions.GetMessage(obj, helmv2.TestSuccessCondition)
	}
}

// event records a news event carrying the chart revision metadata.
func (run *releaseRun) event(obj *helmv2.HelmRelease, eventType, reason, msg string) {
	if run.r.Events == nil {
		return
	}
	md := map[string]string{}
	if run.chart != nil {
		md[helmv2.RevisionEventAnnotation] = run.chart.Metadata.Version
		if av := run.chart.Metadata.AppVersion; av != "" {
			md[helmv2.AppVersionEventAnnotation] = av
		}
	}
	if digestSource(run.sourceKind) && run.artifact != nil {
		md[helmv2.OCIDigestEventAnnotation] = run.artifact.Digest
	}
	run.r.Events.AnnotatedEventf(obj, nil, md, eventType, reason, "Reconcile", "%s", msg)
}

// helmLogger sends Helm's debug output to the reconcile's logger.
func helmLogger(ctx context.Context) slog.Handler {
	return logr.ToSlogHandler(ctrl.LoggerFrom(ctx).V(2))
}

// finalize deletes the generated HelmChart and uninstalls the release
// (unless the HelmRelease is suspended).
func (run *releaseRun) finalize(ctx context.Context, obj *helmv2.HelmRelease) error {
	if obj.Status.HelmChart != "" {
		if err := run.deleteHelmChart(ctx, obj); err != nil {
			return reconcile.Retry(ReasonHelmChartFailed, "%w", err)
		}
	}
	if obj.Spec.Suspend {
		return nil
	}
	clients, err := run.clients(ctx, obj)
	if err != nil {
		if reconcile.IsStalling(err) || reconcile.Classify(err, "").Reason == kubeconfig.ReasonNotFound {
			// The release cannot be reached (a refused kubeconfig, or its
			// Secret deleted with the HelmRelease, as when a namespace is
			// deleted); do not block the deletion.
			run.event(obj, corev1.EventTypeWarning, helmv2.UninstallFailedReason, "release left installed: "+err.Error())
			return nil
		}
		return err
	}
	// Uninstall the release last installed, which the spec may have moved
	// away from since.
	storageNS, name, releaseNS := obj.Status.StorageNamespace, obj.GetReleaseName(), obj.GetReleaseNamespace()
	if storageNS == "" {
		storageNS = obj.GetStorageNamespace()
	}
	if latest := obj.Status.History.Latest(); latest != nil {
		name, releaseNS = latest.Name, latest.Namespace
	}
	cfg, err := clients.Configuration(storageNS, releaseNS, helmLogger(ctx))
	if err != nil {
		return reconcile.Retry(helmv2.InitFailedReason, "Helm configuration: %w", err)
	}
	rls, err := action.Uninstall(cfg, obj, name, "Deletion of the HelmRelease")
	if err != nil {
		return reconcile.Retry(helmv2.UninstallFailedReason, "Helm uninstall failed for release %s/%s: %s", releaseNS, name, err)
	}
	if rls != nil {
		run.event(obj, corev1.EventTypeNormal, helmv2.UninstallSucceededReason,
			fmt.Sprintf("Helm uninstall succeeded for release %s", release.FullName(rls)))
	}
	if key := remoteKey(obj); key != "" && run.r.Remotes != nil {
		run.r.Remotes.Forget(key)
	}
	return nil
}
