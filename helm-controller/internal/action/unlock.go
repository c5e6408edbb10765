package action

import (
	"fmt"

	helmaction "helm.sh/helm/v3/pkg/action"
	helmrelease "helm.sh/helm/v3/pkg/release"
	helmtime "helm.sh/helm/v3/pkg/time"
)

// Unlock marks a release left in a pending state (its action was cut off,
// e.g. by a controller crash) as failed, so Helm accepts the next action.
func Unlock(cfg *helmaction.Configuration, rls *helmrelease.Release) error {
	if rls.Info == nil || !rls.Info.Status.IsPending() {
		return nil
	}
	was := rls.Info.Status
	rls.Info.Status = helmrelease.StatusFailed
	rls.Info.Description = fmt.Sprintf("Release unlocked from stale '%s' state", was)
	rls.Info.LastDeployed = helmtime.Now()
	if err := cfg.Releases.Update(rls); err != nil {
		return fmt.Errorf("unlocking release %s/%s.v%d: %w", rls.Namespace, rls.Name, rls.Version, err)
	}
	return nil
}

// Last returns the latest release named name from storage, nil when there
// is none.
func Last(cfg *helmaction.Configuration, name string) (*helmrelease.Release, error) {
	rls, err := cfg.Releases.Last(name)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return rls, nil
}
