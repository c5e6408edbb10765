package action

import (
	"strconv"

	helmaction "helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/kube"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// waitStrategy is Helm's wait strategy for obj: none but the hooks' when
// disableWait, Helm 3's readiness checks for legacy, otherwise (poller,
// the default) the kstatus polling of kstatusClient, which answers for
// Helm's status-watcher strategy.
func waitStrategy(obj *helmv2.HelmRelease, disableWait bool) kube.WaitStrategy {
	switch {
	case disableWait:
		return kube.HookOnlyStrategy
	case obj.GetWaitStrategyName() == helmv2.WaitStrategyLegacy:
		return kube.LegacyStrategy
	default:
		return kube.StatusWatcherStrategy
	}
}

// postRenderStrategy is Helm's post-render strategy for
// spec.postRenderStrategy (combined when unset); the API names the
// strategies as Helm does.
func postRenderStrategy(obj *helmv2.HelmRelease) helmaction.PostRenderStrategy {
	return helmaction.PostRenderStrategy(obj.GetPostRenderStrategy())
}

// applyMethod is Helm's server-side apply option of an upgrade or rollback,
// whether apply conflicts are forced, and whether objects are replaced
// (force). previous is the apply method of the release Helm compares with
// ("ssa" or "csa"; empty for Helm 3's releases, which applied client-side):
// auto keeps it. It is resolved here because Helm refuses forced conflicts
// with client-side apply.
//
// Conflicts are forced: the HelmRelease declares the objects, so fields
// another manager changed are taken back (as Helm 3's client-side
// three-way merge did) instead of failing the release. Helm replaces
// objects only with client-side apply, so force turns auto into
// client-side apply; force with enabled is refused by Helm.
func applyMethod(mode helmv2.ServerSideApplyMode, force bool, previous string) (ssa string, forceConflicts, replace bool) {
	on := previous == "ssa"
	switch mode {
	case helmv2.ServerSideApplyEnabled:
		on = true
	case helmv2.ServerSideApplyDisabled:
		on = false
	default:
		if force {
			on = false
		}
	}
	return strconv.FormatBool(on), on && !force, force
}

// applyMethodOf is the apply method of the stored release name.version
// (the latest when version is 0); empty when there is none.
func applyMethodOf(cfg *helmaction.Configuration, name string, version int) string {
	var r any
	var err error
	if version > 0 {
		r, err = cfg.Releases.Get(name, version)
	} else {
		r, err = cfg.Releases.Last(name)
	}
	if err != nil {
		return ""
	}
	rls, err := v1Release(r)
	if err != nil || rls == nil {
		return ""
	}
	return rls.ApplyMethod
}
