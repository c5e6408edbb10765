package action

import (
	"errors"

	helmaction "helm.sh/helm/v4/pkg/action"
	helmrelease "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage/driver"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// Uninstall removes obj's release name (the spec's, or one the spec moved
// away from), honouring spec.uninstall. A release that is already gone is
// not an error (nil release). It returns the uninstalled release.
func Uninstall(cfg *helmaction.Configuration, obj *helmv2.HelmRelease, name, description string) (*helmrelease.Release, error) {
	spec := obj.GetUninstall()
	uninstall := helmaction.NewUninstall(cfg)
	uninstall.DisableHooks = spec.DisableHooks
	uninstall.KeepHistory = spec.KeepHistory
	uninstall.WaitStrategy = waitStrategy(obj, spec.DisableWait)
	uninstall.Timeout = spec.GetTimeout(obj.GetTimeout())
	uninstall.DeletionPropagation = spec.GetDeletionPropagation()
	uninstall.Description = description
	res, err := uninstall.Run(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil || res == nil {
		return nil, err
	}
	return v1Release(res.Release)
}
