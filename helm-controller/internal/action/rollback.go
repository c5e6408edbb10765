package action

import (
	helmaction "helm.sh/helm/v3/pkg/action"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// Rollback rolls obj's release back to version, honouring spec.rollback.
func Rollback(cfg *helmaction.Configuration, obj *helmv2.HelmRelease, version int) error {
	spec := obj.GetRollback()
	rollback := helmaction.NewRollback(cfg)
	rollback.Version = version
	rollback.Timeout = spec.GetTimeout(obj.GetTimeout())
	rollback.Wait = !spec.DisableWait
	rollback.WaitForJobs = !spec.DisableWaitForJobs
	rollback.DisableHooks = spec.DisableHooks
	rollback.Force = spec.Force
	rollback.Recreate = spec.Recreate
	rollback.CleanupOnFail = spec.CleanupOnFail
	rollback.MaxHistory = obj.GetMaxHistory()
	return rollback.Run(obj.GetReleaseName())
}
