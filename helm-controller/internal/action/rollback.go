package action

import (
	helmaction "helm.sh/helm/v4/pkg/action"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// Rollback rolls obj's release back to version, honouring spec.rollback.
func Rollback(cfg *helmaction.Configuration, obj *helmv2.HelmRelease, version int) error {
	spec := obj.GetRollback()
	rollback := helmaction.NewRollback(cfg)
	rollback.Version = version
	rollback.Timeout = spec.GetTimeout(obj.GetTimeout())
	rollback.WaitStrategy = waitStrategy(obj, spec.DisableWait)
	rollback.WaitForJobs = !spec.DisableWaitForJobs
	rollback.DisableHooks = spec.DisableHooks
	rollback.ServerSideApply, rollback.ForceConflicts, rollback.ForceReplace = applyMethod(spec.GetServerSideApply(), spec.Force,
		applyMethodOf(cfg, obj.GetReleaseName(), version))
	rollback.CleanupOnFail = spec.CleanupOnFail
	rollback.MaxHistory = obj.GetMaxHistory()
	if err := useHealthExprs(cfg, obj); err != nil {
		return err
	}
	if err := rollback.Run(obj.GetReleaseName()); err != nil {
		return err
	}
	if spec.Recreate {
		return recreatePods(cfg, obj)
	}
	return nil
}
