package action

import (
	"fmt"
	"time"

	helmaction "helm.sh/helm/v4/pkg/action"
	releasecommon "helm.sh/helm/v4/pkg/release/common"
	helmrelease "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
)

// Unlock marks a release left in a pending state (its action was cut off,
// e.g. by a controller crash) as failed, so Helm accepts the next action.
func Unlock(cfg *helmaction.Configuration, rls *helmrelease.Release) error {
	if rls.Info == nil || !rls.Info.Status.IsPending() {
		return nil
	}
	was := rls.Info.Status
	rls.Info.Status = releasecommon.StatusFailed
	rls.Info.Description = fmt.Sprintf("Release unlocked from stale '%s' state", was)
	rls.Info.LastDeployed = time.Now()
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
	return v1Release(rls)
}

// History returns every stored version of the release named name, oldest
// first; none when there is no such release.
func History(cfg *helmaction.Configuration, name string) ([]*helmrelease.Release, error) {
	h, err := cfg.Releases.History(name)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	out := make([]*helmrelease.Release, 0, len(h))
	for _, r := range h {
		rls, err := v1Release(r)
		if err != nil {
			return nil, err
		}
		out = append(out, rls)
	}
	releaseutil.SortByRevision(out)
	return out, nil
}
