package controller

import (
	"context"
	"fmt"

	releasecommon "helm.sh/helm/v4/pkg/release/common"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	"gotk.dev/pkg/runtime/reconcile"

	"gotk.dev/helm-controller/internal/action"
	"gotk.dev/helm-controller/internal/release"
)

// uninstallMoved uninstalls the release recorded in the status when the
// spec moved away from it (release.TargetChanged) and forgets its history,
// so the release steps install the new one afresh instead of leaving the
// old one orphaned in its storage.
func (run *releaseRun) uninstallMoved(ctx context.Context, clients *action.Clients, obj *helmv2.HelmRelease) error {
	why, changed := release.TargetChanged(obj, run.chart.Name())
	if !changed {
		return nil
	}
	prev := obj.Status.History.Latest()
	target := fmt.Sprintf("release %s with chart %s", prev.FullReleaseName(), prev.VersionedChartName())
	ctrl.LoggerFrom(ctx).Info("release target changed: uninstalling the previous release", "why", why, "release", prev.FullReleaseName())
	cfg, err := clients.Configuration(obj.Status.StorageNamespace, prev.Namespace, helmLogger(ctx))
	if err != nil {
		return reconcile.Retry(helmv2.InitFailedReason, "Helm configuration: %w", err)
	}
	old, err := action.Last(cfg, prev.Name)
	if err != nil {
		return reconcile.Retry(helmv2.GetLastReleaseFailedReason, "reading previous %s from storage namespace %s: %w", target, obj.Status.StorageNamespace, err)
	}
	// A release already uninstalled (remediation, or by hand) only loses
	// its history; Helm refuses to uninstall it again when history is kept.
	if old != nil && old.Info != nil && old.Info.Status != releasecommon.StatusUninstalled {
		if _, err := action.Uninstall(cfg, obj, prev.Name, "Uninstalled by the helm-controller: "+why); err != nil {
			msg := fmt.Sprintf("Helm uninstall failed for previous %s (%s): %s", target, why, err)
			run.event(obj, corev1.EventTypeWarning, helmv2.UninstallFailedReason, msg)
			return reconcile.Retry(helmv2.UninstallFailedReason, "%s", msg)
		}
		run.event(obj, corev1.EventTypeNormal, helmv2.UninstallSucceededReason,
			fmt.Sprintf("Helm uninstall succeeded for previous %s: %s", target, why))
	}
	obj.Status.ClearHistory()
	obj.Status.ClearFailures()
	obj.Status.StorageNamespace = ""
	obj.Status.LastReleaseRevision = 0
	return nil
}
