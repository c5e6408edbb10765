package action

import (
	"context"

	helmaction "helm.sh/helm/v4/pkg/action"
	helmchart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/postrenderer"
	helmrelease "helm.sh/helm/v4/pkg/release/v1"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// Upgrade upgrades obj's release to chrt with vals, honouring spec.upgrade
// and spec.maxHistory.
func Upgrade(ctx context.Context, cfg *helmaction.Configuration, obj *helmv2.HelmRelease, chrt *helmchart.Chart,
	vals map[string]any, pr postrenderer.PostRenderer) (*helmrelease.Release, error) {
	spec := obj.GetUpgrade()
	upgrade := helmaction.NewUpgrade(cfg)
	upgrade.Namespace = obj.GetReleaseNamespace()
	upgrade.Timeout = spec.GetTimeout(obj.GetTimeout())
	upgrade.WaitStrategy = waitStrategy(obj, spec.DisableWait)
	upgrade.WaitForJobs = !spec.DisableWaitForJobs
	upgrade.DisableHooks = spec.DisableHooks
	upgrade.DisableOpenAPIValidation = spec.DisableOpenAPIValidation
	upgrade.SkipSchemaValidation = spec.DisableSchemaValidation
	upgrade.ServerSideApply, upgrade.ForceConflicts, upgrade.ForceReplace = applyMethod(spec.GetServerSideApply(), spec.Force,
		applyMethodOf(cfg, obj.GetReleaseName(), 0))
	upgrade.CleanupOnFail = spec.CleanupOnFail
	upgrade.MaxHistory = obj.GetMaxHistory()
	upgrade.TakeOwnership = !spec.DisableTakeOwnership
	// Values are declarative: the composed values replace the previous
	// release's, unless preserveValues asks to merge over them.
	upgrade.ReuseValues = spec.PreserveValues
	upgrade.ResetValues = !spec.PreserveValues
	upgrade.PostRenderer = pr
	upgrade.PostRenderStrategy = postRenderStrategy(obj)
	upgrade.Description = "Upgrade performed by the helm-controller"

	if err := useHealthExprs(cfg, obj); err != nil {
		return nil, err
	}
	if p := spec.GetCRDsPolicy(); p != helmv2.Skip {
		if err := applyCRDs(cfg, chrt, p); err != nil {
			return nil, err
		}
	}
	return result(upgrade.RunWithContext(ctx, obj.GetReleaseName(), chrt, vals))
}
