package v2

import "github.com/fluxcd/pkg/apis/meta"

// Condition types a HelmRelease reports besides Ready, Reconciling and
// Stalled.
const (
	// ReleasedCondition reports the result of the last install or upgrade.
	ReleasedCondition = "Released"

	// TestSuccessCondition reports the result of the last Helm test run.
	TestSuccessCondition = "TestSuccess"

	// RemediatedCondition reports that a failed release was rolled back or
	// uninstalled.
	RemediatedCondition = "Remediated"

	// DriftedCondition reports that cluster objects differ from the release
	// manifest.
	DriftedCondition = "Drifted"
)

// Reasons used in the conditions of a HelmRelease.
const (
	// InstallSucceededReason says the Helm install succeeded.
	InstallSucceededReason = "InstallSucceeded"

	// InstallFailedReason says the Helm install failed.
	InstallFailedReason = "InstallFailed"

	// UpgradeSucceededReason says the Helm upgrade succeeded.
	UpgradeSucceededReason = "UpgradeSucceeded"

	// UpgradeFailedReason says the Helm upgrade failed.
	UpgradeFailedReason = "UpgradeFailed"

	// TestSucceededReason says the Helm tests passed.
	TestSucceededReason = "TestSucceeded"

	// TestFailedReason says a Helm test failed.
	TestFailedReason = "TestFailed"

	// RollbackSucceededReason says the Helm rollback succeeded.
	RollbackSucceededReason = "RollbackSucceeded"

	// RollbackFailedReason says the Helm rollback failed.
	RollbackFailedReason = "RollbackFailed"

	// UninstallSucceededReason says the Helm uninstall succeeded.
	UninstallSucceededReason = "UninstallSucceeded"

	// UninstallFailedReason says the Helm uninstall failed.
	UninstallFailedReason = "UninstallFailed"

	// ArtifactFailedReason says the chart artifact could not be fetched,
	// verified or loaded.
	ArtifactFailedReason = "ArtifactFailed"

	// InitFailedReason says the Helm action configuration (client, storage,
	// values) could not be set up.
	InitFailedReason = "InitFailed"

	// GetLastReleaseFailedReason says the last release could not be read
	// from Helm storage.
	GetLastReleaseFailedReason = "GetLastReleaseFailed"

	// DependencyNotReadyReason says an object listed in dependsOn is not ready.
	DependencyNotReadyReason = meta.DependencyNotReadyReason

	// DriftDetectedReason says cluster objects differ from the release manifest.
	DriftDetectedReason = "DriftDetected"

	// NoDriftDetectedReason says cluster objects match the release manifest.
	NoDriftDetectedReason = "NoDriftDetected"

	// InvalidChartReferenceReason says spec.chartRef points at something that
	// cannot be used.
	InvalidChartReferenceReason = "InvalidChartReference"

	// ProgressingReason says a reconciliation is under way.
	ProgressingReason = meta.ProgressingReason

	// ProgressingWithRetryReason says a reconciliation is under way after a
	// failed attempt.
	ProgressingWithRetryReason = meta.ProgressingWithRetryReason
)
