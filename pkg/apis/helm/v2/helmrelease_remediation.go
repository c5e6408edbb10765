package v2

// RemediationStrategy names how a failed upgrade is remediated.
type RemediationStrategy string

const (
	// RollbackRemediationStrategy rolls back to the last successful release.
	RollbackRemediationStrategy RemediationStrategy = "rollback"
	// UninstallRemediationStrategy uninstalls the release.
	UninstallRemediationStrategy RemediationStrategy = "uninstall"
)

// InstallRemediation configures remediation of failed installs.
type InstallRemediation struct {
	// Retries is how many times a failed install is retried, with an
	// uninstall in between. Negative means without limit. Defaults to 0.
	// +optional
	Retries int `json:"retries,omitempty"`

	// IgnoreTestFailures skips remediation when tests fail after an install.
	// Defaults to test.ignoreFailures.
	// +optional
	IgnoreTestFailures *bool `json:"ignoreTestFailures,omitempty"`

	// RemediateLastFailure remediates the last failure too, once no retries
	// are left. Defaults to false.
	// +optional
	RemediateLastFailure *bool `json:"remediateLastFailure,omitempty"`
}

// GetRetries returns the number of retries.
func (in InstallRemediation) GetRetries() int { return in.Retries }

// MustIgnoreTestFailures returns IgnoreTestFailures, or def when unset.
func (in InstallRemediation) MustIgnoreTestFailures(def bool) bool {
	if in.IgnoreTestFailures == nil {
		return def
	}
	return *in.IgnoreTestFailures
}

// MustRemediateLastFailure returns RemediateLastFailure, false when unset.
func (in InstallRemediation) MustRemediateLastFailure() bool {
	return in.RemediateLastFailure != nil && *in.RemediateLastFailure
}

// GetStrategy returns uninstall, the only remediation of an install.
func (in InstallRemediation) GetStrategy() RemediationStrategy {
	return UninstallRemediationStrategy
}

// GetFailureCount returns status.installFailures.
func (in InstallRemediation) GetFailureCount(hr *HelmRelease) int64 {
	return hr.Status.InstallFailures
}

// IncrementFailureCount adds one to status.installFailures.
func (in InstallRemediation) IncrementFailureCount(hr *HelmRelease) {
	hr.Status.InstallFailures++
}

// RetriesExhausted reports whether the install failures exceed Retries.
func (in InstallRemediation) RetriesExhausted(hr *HelmRelease) bool {
	return in.Retries >= 0 && in.GetFailureCount(hr) > int64(in.Retries)
}

// UpgradeRemediation configures remediation of failed upgrades.
type UpgradeRemediation struct {
	// Retries is how many times a failed upgrade is retried, with a
	// remediation in between. Negative means without limit. Defaults to 0.
	// +optional
	Retries int `json:"retries,omitempty"`

	// IgnoreTestFailures skips remediation when tests fail after an upgrade.
	// Defaults to test.ignoreFailures.
	// +optional
	IgnoreTestFailures *bool `json:"ignoreTestFailures,omitempty"`

	// RemediateLastFailure remediates the last failure too, once no retries
	// are left. Defaults to true when Retries is above 0, else false.
	// +optional
	RemediateLastFailure *bool `json:"remediateLastFailure,omitempty"`

	// Strategy is the remediation to perform. Defaults to rollback.
	// +kubebuilder:validation:Enum=rollback;uninstall
	// +optional
	Strategy *RemediationStrategy `json:"strategy,omitempty"`
}

// GetRetries returns the number of retries.
func (in UpgradeRemediation) GetRetries() int { return in.Retries }

// MustIgnoreTestFailures returns IgnoreTestFailures, or def when unset.
func (in UpgradeRemediation) MustIgnoreTestFailures(def bool) bool {
	if in.IgnoreTestFailures == nil {
		return def
	}
	return *in.IgnoreTestFailures
}

// MustRemediateLastFailure returns RemediateLastFailure; when unset it is
// true exactly if Retries is above 0.
func (in UpgradeRemediation) MustRemediateLastFailure() bool {
	if in.RemediateLastFailure == nil {
		return in.Retries > 0
	}
	return *in.RemediateLastFailure
}

// GetStrategy returns the remediation strategy, rollback when unset.
func (in UpgradeRemediation) GetStrategy() RemediationStrategy {
	if in.Strategy == nil || *in.Strategy == "" {
		return RollbackRemediationStrategy
	}
	return *in.Strategy
}

// GetFailureCount returns status.upgradeFailures.
func (in UpgradeRemediation) GetFailureCount(hr *HelmRelease) int64 {
	return hr.Status.UpgradeFailures
}

// IncrementFailureCount adds one to status.upgradeFailures.
func (in UpgradeRemediation) IncrementFailureCount(hr *HelmRelease) {
	hr.Status.UpgradeFailures++
}

// RetriesExhausted reports whether the upgrade failures exceed Retries.
func (in UpgradeRemediation) RetriesExhausted(hr *HelmRelease) bool {
	return in.Retries >= 0 && in.GetFailureCount(hr) > int64(in.Retries)
}

// Remediation is what install and upgrade remediation have in common.
// +kubebuilder:object:generate=false
type Remediation interface {
	// GetRetries returns the configured number of retries.
	GetRetries() int
	// MustIgnoreTestFailures tells whether test failures are ignored.
	MustIgnoreTestFailures(def bool) bool
	// MustRemediateLastFailure tells whether the final failure is remediated.
	MustRemediateLastFailure() bool
	// GetStrategy returns the remediation to perform.
	GetStrategy() RemediationStrategy
	// GetFailureCount returns the failure counter of the action.
	GetFailureCount(hr *HelmRelease) int64
	// IncrementFailureCount adds one to the failure counter of the action.
	IncrementFailureCount(hr *HelmRelease)
	// RetriesExhausted tells whether no retries are left.
	RetriesExhausted(hr *HelmRelease) bool
}
