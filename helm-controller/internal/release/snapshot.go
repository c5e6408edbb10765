// Package release observes Helm releases: snapshots for a HelmRelease's
// status.history, and the pure decision of which Helm action comes next.
package release

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	releasecommon "helm.sh/helm/v4/pkg/release/common"
	helmrelease "helm.sh/helm/v4/pkg/release/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	"gotk.dev/pkg/helm/values"
)

// SnapshotAPIVersion is the version of the snapshot format written.
const SnapshotAPIVersion = "v2"

// ConfigDigest returns the digest of a release's values, comparable with
// values.Digest of composed values.
func ConfigDigest(rls *helmrelease.Release) string {
	return values.Digest(rls.Config)
}

// Digest returns a digest of what identifies a release version's content:
// name, namespace, version, status, chart, values and manifest.
func Digest(rls *helmrelease.Release) string {
	h := sha256.New()
	chartName, chartVersion := chartOf(rls)
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%s\x00%s\x00%s\x00%s\x00", rls.Name, rls.Namespace, rls.Version,
		status(rls), chartName, chartVersion, ConfigDigest(rls))
	h.Write([]byte(rls.Manifest))
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// NewSnapshot records rls for status.history. action is the Helm action
// that produced it (install, upgrade, rollback); ociDigest is the OCI
// digest of the chart artifact, when it came from an OCI source.
func NewSnapshot(rls *helmrelease.Release, action, ociDigest string) *helmv2.Snapshot {
	chartName, chartVersion := chartOf(rls)
	s := &helmv2.Snapshot{
		APIVersion:   SnapshotAPIVersion,
		Digest:       Digest(rls),
		Name:         rls.Name,
		Namespace:    rls.Namespace,
		Version:      rls.Version,
		Status:       status(rls),
		Action:       action,
		ChartName:    chartName,
		ChartVersion: chartVersion,
		ConfigDigest: ConfigDigest(rls),
		OCIDigest:    ociDigest,
	}
	if rls.Chart != nil && rls.Chart.Metadata != nil {
		s.AppVersion = rls.Chart.Metadata.AppVersion
	}
	if rls.Info != nil {
		s.FirstDeployed = metav1.NewTime(rls.Info.FirstDeployed)
		s.LastDeployed = metav1.NewTime(rls.Info.LastDeployed)
		if !rls.Info.Deleted.IsZero() {
			s.Deleted = metav1.NewTime(rls.Info.Deleted)
		}
	}
	if hooks := TestHooks(rls); hooks != nil {
		s.SetTestHooks(hooks)
	}
	return s
}

// TestHooks returns the test hooks of rls that have run, by name; nil
// when none has run.
func TestHooks(rls *helmrelease.Release) map[string]*helmv2.TestHookStatus {
	var out map[string]*helmv2.TestHookStatus
	for _, h := range rls.Hooks {
		if h == nil || !isTestHook(h) || h.LastRun.StartedAt.IsZero() {
			continue
		}
		if out == nil {
			out = map[string]*helmv2.TestHookStatus{}
		}
		out[h.Name] = &helmv2.TestHookStatus{
			LastStarted:   metav1.NewTime(h.LastRun.StartedAt),
			LastCompleted: metav1.NewTime(h.LastRun.CompletedAt),
			Phase:         h.LastRun.Phase.String(),
		}
	}
	return out
}

// HasTests reports whether the chart of rls has test hooks.
func HasTests(rls *helmrelease.Release) bool {
	for _, h := range rls.Hooks {
		if h != nil && isTestHook(h) {
			return true
		}
	}
	return false
}

func isTestHook(h *helmrelease.Hook) bool {
	for _, e := range h.Events {
		if e == helmrelease.HookTest {
			return true
		}
	}
	return false
}

// Record puts s into history, replacing a snapshot of the same release
// version, newest first, and drops what can no longer be a rollback
// target.
func Record(history *helmv2.Snapshots, s *helmv2.Snapshot, ignoreTests bool) {
	for i, old := range *history {
		if old.Targets(s.Name, s.Namespace, s.Version) {
			if s.TestHooks == nil {
				s.TestHooks = old.TestHooks
			}
			(*history)[i] = s
			history.SortByVersion()
			history.Truncate(ignoreTests)
			return
		}
	}
	*history = append(helmv2.Snapshots{s}, *history...)
	history.SortByVersion()
	history.Truncate(ignoreTests)
}

func chartOf(rls *helmrelease.Release) (string, string) {
	if rls.Chart == nil || rls.Chart.Metadata == nil {
		return "", ""
	}
	return rls.Chart.Metadata.Name, rls.Chart.Metadata.Version
}

func status(rls *helmrelease.Release) string {
	if rls.Info == nil {
		return string(releasecommon.StatusUnknown)
	}
	return rls.Info.Status.String()
}

// FullName returns '<namespace>/<name>.v<version>' of rls.
func FullName(rls *helmrelease.Release) string {
	return fmt.Sprintf("%s/%s.v%d", rls.Namespace, rls.Name, rls.Version)
}
