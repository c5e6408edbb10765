package release

import (
	"fmt"

	releasecommon "helm.sh/helm/v4/pkg/release/common"
	helmrelease "helm.sh/helm/v4/pkg/release/v1"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// Action is the next thing the controller does to a release.
type Action string

const (
	// None: the release is what the HelmRelease asks for.
	None Action = "none"
	// Install the release (absent or uninstalled).
	Install Action = "install"
	// Upgrade the release (chart, values or settings changed, or the last
	// attempt failed and may be retried).
	Upgrade Action = "upgrade"
	// Test runs the chart's tests on the current release.
	Test Action = "test"
	// Unlock marks a release left pending by a crashed action as failed.
	Unlock Action = "unlock"
	// Stall: remediation retries are exhausted for this desired state.
	Stall Action = "stall"
)

// ReasonRetriesExceeded is the Stalled reason once no retries are left.
const ReasonRetriesExceeded = "RetriesExceeded"

// Desired is what the HelmRelease asks for in this reconcile.
type Desired struct {
	// ChartName and ChartVersion of the loaded chart.
	ChartName, ChartVersion string
	// Revision is what status.lastAttemptedRevision records: the chart
	// version, with '+<digest>' for OCI sources.
	Revision string
	// OCIDigest is the digest of an OCI chart artifact, "" otherwise.
	OCIDigest string
	// ConfigDigest is values.Digest of the composed values.
	ConfigDigest string
	// Force is a handled reconcile.fluxcd.io/forceAt request.
	Force bool
	// SettingsChanged is true when post-renderers or common metadata
	// differ from what the last successful release used.
	SettingsChanged bool
}

// Decision is the next action and why.
type Decision struct {
	Action  Action
	Message string
}

// Next decides the next action for obj given cur, the latest release in
// Helm storage (nil when there is none). It asks Helm nothing: an
// unchanged, deployed and (if required) tested release yields None.
func Next(obj *helmv2.HelmRelease, cur *helmrelease.Release, d Desired) Decision {
	if cur != nil && cur.Info != nil && cur.Info.Status.IsPending() {
		return Decision{Unlock, fmt.Sprintf("release %s is locked in %s", FullName(cur), cur.Info.Status)}
	}
	deployed := cur != nil && cur.Info != nil && cur.Info.Status == releasecommon.StatusDeployed
	if deployed && !d.Force {
		if diff := drift(obj, cur, d); diff == "" {
			if mustTest(obj, cur) {
				return Decision{Test, fmt.Sprintf("release %s has not been tested", FullName(cur))}
			}
			return Decision{None, fmt.Sprintf("release %s is up to date", FullName(cur))}
		}
	}
	if rem := obj.GetActiveRemediation(); rem != nil && !retryOnFailure(obj) && rem.GetFailureCount(obj) > 0 && rem.RetriesExhausted(obj) && !d.Force {
		return Decision{Stall, fmt.Sprintf("%s retries exhausted after %d failure(s)", obj.Status.LastAttemptedReleaseAction, rem.GetFailureCount(obj))}
	}
	if cur == nil || cur.Info == nil || cur.Info.Status == releasecommon.StatusUninstalled {
		return Decision{Install, "no release in storage"}
	}
	if !deployed {
		return Decision{Upgrade, fmt.Sprintf("release %s is %s", FullName(cur), cur.Info.Status)}
	}
	if d.Force {
		return Decision{Upgrade, "forced by reconcile.fluxcd.io/forceAt"}
	}
	return Decision{Upgrade, drift(obj, cur, d)}
}

// drift names what differs between cur and the desired state, "" when
// nothing does.
func drift(obj *helmv2.HelmRelease, cur *helmrelease.Release, d Desired) string {
	name, version := chartOf(cur)
	switch {
	case name != d.ChartName || version != d.ChartVersion:
		return fmt.Sprintf("chart changed from %s@%s to %s@%s", name, version, d.ChartName, d.ChartVersion)
	case ConfigDigest(cur) != d.ConfigDigest && !preservedValues(obj, d):
		return "values changed"
	case d.OCIDigest != "" && obj.Status.History.Latest() != nil && obj.Status.History.Latest().OCIDigest != d.OCIDigest:
		return "chart artifact digest changed"
	case d.SettingsChanged:
		return "post-renderers or common metadata changed"
	}
	latest := obj.Status.History.Latest()
	if latest == nil || !latest.Targets(cur.Name, cur.Namespace, cur.Version) {
		return fmt.Sprintf("release %s was changed outside the controller", FullName(cur))
	}
	if obj.GetTest().Enable && latest.HasTestInPhase("Failed") && !IgnoreTestFailures(obj) {
		return fmt.Sprintf("tests of release %s failed", FullName(cur))
	}
	return ""
}

// IgnoreTestFailures reports whether failed tests leave the release
// alone: the active remediation's setting, else test.ignoreFailures.
func IgnoreTestFailures(obj *helmv2.HelmRelease) bool {
	def := obj.GetTest().IgnoreFailures
	if rem := obj.GetActiveRemediation(); rem != nil {
		return rem.MustIgnoreTestFailures(def)
	}
	return def
}

// mustTest reports whether tests are enabled and have not run on cur.
func mustTest(obj *helmv2.HelmRelease, cur *helmrelease.Release) bool {
	if !obj.GetTest().Enable {
		return false
	}
	latest := obj.Status.History.Latest()
	return latest == nil || !latest.Targets(cur.Name, cur.Namespace, cur.Version) || !latest.HasBeenTested()
}

// DesiredChanged reports whether the desired state differs from the last
// attempt, which restarts the failure counting.
func DesiredChanged(obj *helmv2.HelmRelease, d Desired) bool {
	s := obj.Status
	return s.LastAttemptedRevision != d.Revision || s.LastAttemptedConfigDigest != d.ConfigDigest ||
		s.LastAttemptedGeneration != obj.Generation
}

// retryOnFailure reports whether the last attempted action's strategy is
// RetryOnFailure, which retries on an interval without counting retries.
func retryOnFailure(obj *helmv2.HelmRelease) bool {
	switch obj.Status.LastAttemptedReleaseAction {
	case helmv2.ReleaseActionInstall:
		return obj.GetInstall().GetStrategyName() == helmv2.ActionStrategyRetryOnFailure
	case helmv2.ReleaseActionUpgrade:
		return obj.GetUpgrade().GetStrategyName() == helmv2.ActionStrategyRetryOnFailure
	}
	return false
}

// preservedValues reports whether upgrade.preserveValues merged the
// composed values over the previous ones: the release then stores more
// than was composed, and only a change of the composed values counts.
func preservedValues(obj *helmv2.HelmRelease, d Desired) bool {
	return obj.GetUpgrade().PreserveValues && obj.Status.LastAttemptedConfigDigest == d.ConfigDigest
}
