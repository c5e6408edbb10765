package v2

import (
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Snapshots is the release history kept in status.history, newest first.
type Snapshots []*Snapshot

// SortByVersion orders the snapshots by release version, newest first.
func (in Snapshots) SortByVersion() {
	sort.SliceStable(in, func(i, j int) bool {
		return in[i].Version > in[j].Version
	})
}

// Latest returns the snapshot with the highest version, or nil when empty.
func (in Snapshots) Latest() *Snapshot {
	if len(in) == 0 {
		return nil
	}
	latest := in[0]
	for _, s := range in[1:] {
		if s.Version > latest.Version {
			latest = s
		}
	}
	return latest
}

// Previous returns the newest snapshot older than the latest one that was
// deployed or superseded and, unless ignoreTests, did not fail its tests.
// This is the rollback target; nil when there is none.
func (in Snapshots) Previous(ignoreTests bool) *Snapshot {
	if len(in) < 2 {
		return nil
	}
	sorted := make(Snapshots, len(in))
	copy(sorted, in)
	sorted.SortByVersion()
	for _, s := range sorted[1:] {
		if s.Status != "deployed" && s.Status != "superseded" {
			continue
		}
		if !ignoreTests && s.HasTestInPhase("Failed") {
			continue
		}
		return s
	}
	return nil
}

// Truncate keeps the latest snapshot and, after it, only the first entry
// that could serve as a rollback target; everything older is dropped.
func (in *Snapshots) Truncate(ignoreTests bool) {
	if len(*in) < 2 {
		return
	}
	in.SortByVersion()
	for i, s := range (*in)[1:] {
		if s.Status != "deployed" && s.Status != "superseded" {
			continue
		}
		if !ignoreTests && s.HasTestInPhase("Failed") {
			continue
		}
		*in = (*in)[:i+2]
		return
	}
}

// Snapshot records one Helm release version handled by the controller.
type Snapshot struct {
	// APIVersion is the version of the snapshot format.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// Digest is the checksum of the Helm release object.
	// +required
	Digest string `json:"digest"`

	// Name of the release.
	// +required
	Name string `json:"name"`

	// Namespace of the release.
	// +required
	Namespace string `json:"namespace"`

	// Version of the release.
	// +required
	Version int `json:"version"`

	// Status of the release (deployed, superseded, failed, …).
	// +required
	Status string `json:"status"`

	// Action is the Helm action that produced the release.
	// +optional
	Action string `json:"action,omitempty"`

	// ChartName is the name of the chart.
	// +required
	ChartName string `json:"chartName"`

	// ChartVersion is the version of the chart.
	// +required
	ChartVersion string `json:"chartVersion"`

	// AppVersion is the chart's app version.
	// +optional
	AppVersion string `json:"appVersion,omitempty"`

	// ConfigDigest is the checksum of the values of the release.
	// +required
	ConfigDigest string `json:"configDigest"`

	// FirstDeployed is when the release was first deployed.
	// +required
	FirstDeployed metav1.Time `json:"firstDeployed"`

	// LastDeployed is when the release was last deployed.
	// +required
	LastDeployed metav1.Time `json:"lastDeployed"`

	// Deleted is when the release was uninstalled.
	// +optional
	Deleted metav1.Time `json:"deleted,omitempty"`

	// TestHooks holds the test hooks of the release by name; nil means the
	// tests were never run, an empty map that the chart has none.
	// +optional
	TestHooks *map[string]*TestHookStatus `json:"testHooks,omitempty"`

	// OCIDigest is the digest of the OCI artifact the chart came from.
	// +optional
	OCIDigest string `json:"ociDigest,omitempty"`
}

// FullReleaseName returns '<namespace>/<name>.v<version>'.
func (in *Snapshot) FullReleaseName() string {
	if in == nil {
		return ""
	}
	return fmt.Sprintf("%s/%s.v%d", in.Namespace, in.Name, in.Version)
}

// VersionedChartName returns '<chartName>@<chartVersion>'.
func (in *Snapshot) VersionedChartName() string {
	if in == nil {
		return ""
	}
	return fmt.Sprintf("%s@%s", in.ChartName, in.ChartVersion)
}

// HasBeenTested reports whether tests ran for this release.
func (in *Snapshot) HasBeenTested() bool {
	return in != nil && in.TestHooks != nil
}

// GetTestHooks returns the test hooks, nil when tests never ran.
func (in *Snapshot) GetTestHooks() map[string]*TestHookStatus {
	if in == nil || in.TestHooks == nil {
		return nil
	}
	return *in.TestHooks
}

// SetTestHooks records the test hooks; an empty map marks the release as
// tested without hooks.
func (in *Snapshot) SetTestHooks(hooks map[string]*TestHookStatus) {
	if hooks == nil {
		hooks = map[string]*TestHookStatus{}
	}
	in.TestHooks = &hooks
}

// HasTestInPhase reports whether a test hook ended in the given phase
// (e.g. Succeeded, Failed).
func (in *Snapshot) HasTestInPhase(phase string) bool {
	for _, h := range in.GetTestHooks() {
		if h != nil && h.Phase == phase {
			return true
		}
	}
	return false
}

// Targets reports whether the snapshot is of the given release version.
func (in *Snapshot) Targets(name, namespace string, version int) bool {
	return in != nil && in.Name == name && in.Namespace == namespace && in.Version == version
}

// TestHookStatus records one run of a Helm test hook.
type TestHookStatus struct {
	// LastStarted is when the hook last started.
	// +optional
	LastStarted metav1.Time `json:"lastStarted,omitempty"`

	// LastCompleted is when the hook last completed.
	// +optional
	LastCompleted metav1.Time `json:"lastCompleted,omitempty"`

	// Phase is the hook's last phase.
	// +optional
	Phase string `json:"phase,omitempty"`
}
