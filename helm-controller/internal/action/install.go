package action

import (
	"context"

	helmaction "helm.sh/helm/v4/pkg/action"
	helmchart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/postrenderer"
	helmrelease "helm.sh/helm/v4/pkg/release/v1"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// Install installs chrt with vals as obj's release, honouring
// spec.install. Helm's error (template, validation, hook, timeout) is
// returned as is so conditions can quote it.
func Install(ctx context.Context, cfg *helmaction.Configuration, obj *helmv2.HelmRelease, chrt *helmchart.Chart,
	vals map[string]any, pr postrenderer.PostRenderer) (*helmrelease.Release, error) {
	spec := obj.GetInstall()
	install := helmaction.NewInstall(cfg)
	install.ReleaseName = obj.GetReleaseName()
	install.Namespace = obj.GetReleaseNamespace()
	install.Timeout = spec.GetTimeout(obj.GetTimeout())
	install.WaitStrategy = waitStrategy(obj, spec.DisableWait)
	install.WaitForJobs = !spec.DisableWaitForJobs
	install.DisableHooks = spec.DisableHooks
	install.DisableOpenAPIValidation = spec.DisableOpenAPIValidation
	install.SkipSchemaValidation = spec.DisableSchemaValidation
	install.Replace = spec.Replace
	install.ServerSideApply = spec.UseServerSideApply(true)
	// Conflicts are forced for the reason applyMethod gives.
	install.ForceConflicts = install.ServerSideApply
	install.CreateNamespace = spec.CreateNamespace
	install.TakeOwnership = !spec.DisableTakeOwnership
	install.SkipCRDs = spec.GetCRDsPolicy() != helmv2.Create
	install.PostRenderer = pr
	install.PostRenderStrategy = postRenderStrategy(obj)
	install.Description = "Install performed by the helm-controller"

	if err := useHealthExprs(cfg, obj); err != nil {
		return nil, err
	}
	if spec.GetCRDsPolicy() == helmv2.CreateReplace {
		if err := applyCRDs(cfg, chrt, helmv2.CreateReplace); err != nil {
			return nil, err
		}
	}
	return result(install.RunWithContext(ctx, chrt, vals))
}
