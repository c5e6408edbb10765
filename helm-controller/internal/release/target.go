package release

import (
	"fmt"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// TargetChanged says why the release the spec asks for is no longer the
// one recorded in obj's status: its storage namespace, release namespace
// or name changed, or its chart name did and upgrade.chartNameChangeStrategy
// is Reinstall (the default). Helm can neither move nor rename a release,
// so the recorded one is uninstalled and the new one installed; upgrading
// beside it would leave the old release orphaned. chartName is the name of
// the chart this reconcile loaded.
func TargetChanged(obj *helmv2.HelmRelease, chartName string) (string, bool) {
	cur := obj.Status.History.Latest()
	if cur == nil || obj.Status.StorageNamespace == "" {
		return "", false
	}
	switch {
	case obj.GetStorageNamespace() != obj.Status.StorageNamespace:
		return fmt.Sprintf("storage namespace changed from %s to %s", obj.Status.StorageNamespace, obj.GetStorageNamespace()), true
	case obj.GetReleaseNamespace() != cur.Namespace:
		return fmt.Sprintf("release namespace changed from %s to %s", cur.Namespace, obj.GetReleaseNamespace()), true
	case obj.GetReleaseName() != cur.Name:
		return fmt.Sprintf("release name changed from %s to %s", cur.Name, obj.GetReleaseName()), true
	case chartName != cur.ChartName && obj.GetUpgrade().GetChartNameChangeStrategy() == helmv2.ChartNameChangeReinstall:
		return fmt.Sprintf("chart name changed from %s to %s", cur.ChartName, chartName), true
	}
	return "", false
}
