package action

import (
	"context"

	helmaction "helm.sh/helm/v3/pkg/action"
	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/postrender"
	helmrelease "helm.sh/helm/v3/pkg/release"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// Install installs chrt with vals as obj's release, honouring
// spec.install. Helm's error (template, validation, hook, timeout) is
// returned as is so conditions can quote it.
func Install(ctx context.Context, cfg *helmaction.Configuration, obj *helmv2.HelmRelease, chrt *helmchart.Chart,
	vals map[string]any, pr postrender.PostRenderer) (*helmrelease.Release, error) {
	spec := obj.GetInstall()
	install := helmaction.NewInstall(cfg)
	install.ReleaseName = obj.GetReleaseName()
	install.Namespace = obj.GetReleaseNamespace()
	install.Timeout = spec.GetTimeout(obj.GetTimeout())
	install.Wait = !spec.DisableWait
	install.WaitForJobs = !spec.DisableWaitForJobs
	install.DisableHooks = spec.DisableHooks
	install.DisableOpenAPIValidation = spec.DisableOpenAPIValidation
	install.SkipSchemaValidation = spec.DisableSchemaValidation
	install.Replace = spec.Replace
	install.CreateNamespace = spec.CreateNamespace
	install.TakeOwnership = !spec.DisableTakeOwnership
	install.SkipCRDs = spec.GetCRDsPolicy() != helmv2.Create
	install.PostRenderer = pr
	install.Description = "Install performed by the helm-controller"

	if spec.GetCRDsPolicy() == helmv2.CreateReplace {
		if err := applyCRDs(cfg, chrt, helmv2.CreateReplace); err != nil {
			return nil, err
		}
	}
	return install.RunWithContext(ctx, chrt, vals)
}
