package v2

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CRDsPolicy says what a Helm action does with the chart's crds/ directory.
type CRDsPolicy string

const (
	// Skip neither creates nor replaces CRDs.
	Skip CRDsPolicy = "Skip"
	// Create creates missing CRDs and leaves existing ones alone.
	Create CRDsPolicy = "Create"
	// CreateReplace creates missing CRDs and replaces existing ones; CRDs are
	// never deleted.
	CreateReplace CRDsPolicy = "CreateReplace"
)

// ActionStrategyName names what the controller does after a failed install
// or upgrade.
type ActionStrategyName string

const (
	// ActionStrategyRemediateOnFailure remediates (uninstall or rollback)
	// and retries up to the remediation retries (the default).
	ActionStrategyRemediateOnFailure ActionStrategyName = "RemediateOnFailure"
	// ActionStrategyRetryOnFailure leaves the failed release as is and
	// retries the action every retryInterval.
	ActionStrategyRetryOnFailure ActionStrategyName = "RetryOnFailure"
)

// DefaultRetryInterval is the wait between retries of RetryOnFailure.
const DefaultRetryInterval = 5 * time.Minute

// ServerSideApplyMode says whether an upgrade or rollback uses server-side
// apply.
type ServerSideApplyMode string

const (
	// ServerSideApplyEnabled always uses server-side apply.
	ServerSideApplyEnabled ServerSideApplyMode = "enabled"
	// ServerSideApplyDisabled always uses client-side apply.
	ServerSideApplyDisabled ServerSideApplyMode = "disabled"
	// ServerSideApplyAuto keeps what the previous release used (the default).
	ServerSideApplyAuto ServerSideApplyMode = "auto"
)

// ChartNameChangeStrategy says what an upgrade does when the chart name of
// the release changes.
type ChartNameChangeStrategy string

const (
	// ChartNameChangeReinstall uninstalls and installs the release again (the
	// default).
	ChartNameChangeReinstall ChartNameChangeStrategy = "Reinstall"
	// ChartNameChangeInPlaceUpdate upgrades the release in place.
	ChartNameChangeInPlaceUpdate ChartNameChangeStrategy = "InPlaceUpdate"
)

// DeletionPropagation values for uninstall.
const (
	// DeletionPropagationBackground deletes dependents in the background (the
	// default).
	DeletionPropagationBackground = "background"
	// DeletionPropagationForeground deletes dependents before the owner.
	DeletionPropagationForeground = "foreground"
	// DeletionPropagationOrphan leaves dependents behind.
	DeletionPropagationOrphan = "orphan"
)

// InstallStrategy configures what happens after a failed install.
// +kubebuilder:validation:XValidation:rule="!has(self.retryInterval) || self.name != 'RemediateOnFailure'",message=".retryInterval cannot be set when .name is 'RemediateOnFailure'"
type InstallStrategy struct {
	// Name of the strategy.
	// +kubebuilder:validation:Enum=RemediateOnFailure;RetryOnFailure
	// +required
	Name string `json:"name"`

	// RetryInterval is the wait between retries with RetryOnFailure.
	// Defaults to 5m.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	RetryInterval *metav1.Duration `json:"retryInterval,omitempty"`
}

// UpgradeStrategy configures what happens after a failed upgrade.
// +kubebuilder:validation:XValidation:rule="!has(self.retryInterval) || self.name != 'RemediateOnFailure'",message=".retryInterval cannot be set when .name is 'RemediateOnFailure'"
type UpgradeStrategy struct {
	// Name of the strategy.
	// +kubebuilder:validation:Enum=RemediateOnFailure;RetryOnFailure
	// +required
	Name string `json:"name"`

	// RetryInterval is the wait between retries with RetryOnFailure.
	// Defaults to 5m.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	RetryInterval *metav1.Duration `json:"retryInterval,omitempty"`
}

// GetRetryInterval returns the retry interval, 5m when unset.
func (in *InstallStrategy) GetRetryInterval() time.Duration {
	if in == nil || in.RetryInterval == nil {
		return DefaultRetryInterval
	}
	return in.RetryInterval.Duration
}

// GetRetryInterval returns the retry interval, 5m when unset.
func (in *UpgradeStrategy) GetRetryInterval() time.Duration {
	if in == nil || in.RetryInterval == nil {
		return DefaultRetryInterval
	}
	return in.RetryInterval.Duration
}

// Install configures the Helm install action.
type Install struct {
	// Timeout of each Kubernetes operation of the install. Defaults to
	// spec.timeout.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Remediation configures what is done when the install fails. By
	// default nothing is.
	// +optional
	Remediation *InstallRemediation `json:"remediation,omitempty"`

	// Strategy is the install strategy. Defaults to RemediateOnFailure.
	// +optional
	Strategy *InstallStrategy `json:"strategy,omitempty"`

	// DisableTakeOwnership stops Helm from adopting existing objects.
	// +optional
	DisableTakeOwnership bool `json:"disableTakeOwnership,omitempty"`

	// DisableWait skips waiting for the objects to be ready.
	// +optional
	DisableWait bool `json:"disableWait,omitempty"`

	// DisableWaitForJobs skips waiting for Jobs to complete.
	// +optional
	DisableWaitForJobs bool `json:"disableWaitForJobs,omitempty"`

	// DisableHooks skips the chart's hooks.
	// +optional
	DisableHooks bool `json:"disableHooks,omitempty"`

	// DisableOpenAPIValidation skips validating the rendered manifests
	// against the Kubernetes OpenAPI schema.
	// +optional
	DisableOpenAPIValidation bool `json:"disableOpenAPIValidation,omitempty"`

	// DisableSchemaValidation skips validating the values against the
	// chart's JSON schema.
	// +optional
	DisableSchemaValidation bool `json:"disableSchemaValidation,omitempty"`

	// Replace reuses the release name if it belongs to a deleted release
	// still in the history.
	// +optional
	Replace bool `json:"replace,omitempty"`

	// SkipCRDs skips installing CRDs.
	// Deprecated: use CRDs with Skip.
	// +optional
	SkipCRDs bool `json:"skipCRDs,omitempty"`

	// CRDs is the CRD policy of the install. Defaults to Create.
	// +kubebuilder:validation:Enum=Skip;Create;CreateReplace
	// +optional
	CRDs CRDsPolicy `json:"crds,omitempty"`

	// CreateNamespace creates the target namespace when missing; it is not
	// deleted on uninstall.
	// +optional
	CreateNamespace bool `json:"createNamespace,omitempty"`

	// ServerSideApply uses server-side apply for the install. Defaults to
	// true.
	// +optional
	ServerSideApply *bool `json:"serverSideApply,omitempty"`
}

// GetTimeout returns the install timeout, or def when unset.
func (in Install) GetTimeout(def time.Duration) time.Duration {
	if in.Timeout == nil {
		return def
	}
	return in.Timeout.Duration
}

// GetRemediation returns the install remediation, empty when unset.
func (in Install) GetRemediation() Remediation {
	if in.Remediation == nil {
		return InstallRemediation{}
	}
	return *in.Remediation
}

// GetStrategyName returns the install strategy name, RemediateOnFailure
// when unset.
func (in Install) GetStrategyName() ActionStrategyName {
	if in.Strategy == nil || in.Strategy.Name == "" {
		return ActionStrategyRemediateOnFailure
	}
	return ActionStrategyName(in.Strategy.Name)
}

// GetCRDsPolicy returns the effective CRD policy: CRDs, else Skip when the
// deprecated SkipCRDs is set, else Create.
func (in Install) GetCRDsPolicy() CRDsPolicy {
	if in.CRDs != "" {
		return in.CRDs
	}
	if in.SkipCRDs {
		return Skip
	}
	return Create
}

// UseServerSideApply returns ServerSideApply, or def when unset.
func (in Install) UseServerSideApply(def bool) bool {
	if in.ServerSideApply == nil {
		return def
	}
	return *in.ServerSideApply
}

// Upgrade configures the Helm upgrade action.
type Upgrade struct {
	// Timeout of each Kubernetes operation of the upgrade. Defaults to
	// spec.timeout.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Remediation configures what is done when the upgrade fails. By
	// default nothing is.
	// +optional
	Remediation *UpgradeRemediation `json:"remediation,omitempty"`

	// Strategy is the upgrade strategy. Defaults to RemediateOnFailure.
	// +optional
	Strategy *UpgradeStrategy `json:"strategy,omitempty"`

	// DisableTakeOwnership stops Helm from adopting existing objects.
	// +optional
	DisableTakeOwnership bool `json:"disableTakeOwnership,omitempty"`

	// DisableWait skips waiting for the objects to be ready.
	// +optional
	DisableWait bool `json:"disableWait,omitempty"`

	// DisableWaitForJobs skips waiting for Jobs to complete.
	// +optional
	DisableWaitForJobs bool `json:"disableWaitForJobs,omitempty"`

	// DisableHooks skips the chart's hooks.
	// +optional
	DisableHooks bool `json:"disableHooks,omitempty"`

	// DisableOpenAPIValidation skips validating the rendered manifests
	// against the Kubernetes OpenAPI schema.
	// +optional
	DisableOpenAPIValidation bool `json:"disableOpenAPIValidation,omitempty"`

	// DisableSchemaValidation skips validating the values against the
	// chart's JSON schema.
	// +optional
	DisableSchemaValidation bool `json:"disableSchemaValidation,omitempty"`

	// Force replaces objects instead of three-way merging them (client-side
	// apply only).
	// +optional
	Force bool `json:"force,omitempty"`

	// PreserveValues reuses the previous release's values and merges Values
	// over them; this makes the release non-declarative.
	// +optional
	PreserveValues bool `json:"preserveValues,omitempty"`

	// CleanupOnFail deletes objects created by a failed upgrade.
	// +optional
	CleanupOnFail bool `json:"cleanupOnFail,omitempty"`

	// CRDs is the CRD policy of the upgrade. Defaults to Skip.
	// +kubebuilder:validation:Enum=Skip;Create;CreateReplace
	// +optional
	CRDs CRDsPolicy `json:"crds,omitempty"`

	// ServerSideApply says whether the upgrade uses server-side apply;
	// auto (the default) follows the previous release.
	// +kubebuilder:validation:Enum=enabled;disabled;auto
	// +optional
	ServerSideApply ServerSideApplyMode `json:"serverSideApply,omitempty"`

	// ChartNameChangeStrategy says what to do when the chart name changes:
	// Reinstall (the default) or InPlaceUpdate.
	// +kubebuilder:validation:Enum=Reinstall;InPlaceUpdate
	// +optional
	ChartNameChangeStrategy ChartNameChangeStrategy `json:"chartNameChangeStrategy,omitempty"`
}

// GetTimeout returns the upgrade timeout, or def when unset.
func (in Upgrade) GetTimeout(def time.Duration) time.Duration {
	if in.Timeout == nil {
		return def
	}
	return in.Timeout.Duration
}

// GetRemediation returns the upgrade remediation, empty when unset.
func (in Upgrade) GetRemediation() Remediation {
	if in.Remediation == nil {
		return UpgradeRemediation{}
	}
	return *in.Remediation
}

// GetStrategyName returns the upgrade strategy name, RemediateOnFailure
// when unset.
func (in Upgrade) GetStrategyName() ActionStrategyName {
	if in.Strategy == nil || in.Strategy.Name == "" {
		return ActionStrategyRemediateOnFailure
	}
	return ActionStrategyName(in.Strategy.Name)
}

// GetCRDsPolicy returns the CRD policy, Skip when unset.
func (in Upgrade) GetCRDsPolicy() CRDsPolicy {
	if in.CRDs == "" {
		return Skip
	}
	return in.CRDs
}

// GetServerSideApply returns the server-side apply mode, auto when unset.
func (in Upgrade) GetServerSideApply() ServerSideApplyMode {
	if in.ServerSideApply == "" {
		return ServerSideApplyAuto
	}
	return in.ServerSideApply
}

// GetChartNameChangeStrategy returns the strategy, Reinstall when unset.
func (in Upgrade) GetChartNameChangeStrategy() ChartNameChangeStrategy {
	if in.ChartNameChangeStrategy == "" {
		return ChartNameChangeReinstall
	}
	return in.ChartNameChangeStrategy
}

// Test configures the Helm test action.
type Test struct {
	// Enable runs the chart's tests after each install or upgrade.
	// +optional
	Enable bool `json:"enable,omitempty"`

	// Timeout of each Kubernetes operation of the tests. Defaults to
	// spec.timeout.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// IgnoreFailures skips remediation when tests fail; install and upgrade
	// remediation can override it.
	// +optional
	IgnoreFailures bool `json:"ignoreFailures,omitempty"`

	// Filters selects tests to run or exclude.
	// +optional
	Filters []Filter `json:"filters,omitempty"`
}

// GetTimeout returns the test timeout, or def when unset.
func (in Test) GetTimeout(def time.Duration) time.Duration {
	if in.Timeout == nil {
		return def
	}
	return in.Timeout.Duration
}

// Filter selects one Helm test by name.
type Filter struct {
	// Name of the test.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// Exclude leaves the named test out instead of selecting it.
	// +optional
	Exclude bool `json:"exclude,omitempty"`
}

// Rollback configures the Helm rollback action.
type Rollback struct {
	// Timeout of each Kubernetes operation of the rollback. Defaults to
	// spec.timeout.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// DisableWait skips waiting for the objects to be ready.
	// +optional
	DisableWait bool `json:"disableWait,omitempty"`

	// DisableWaitForJobs skips waiting for Jobs to complete.
	// +optional
	DisableWaitForJobs bool `json:"disableWaitForJobs,omitempty"`

	// DisableHooks skips the chart's hooks.
	// +optional
	DisableHooks bool `json:"disableHooks,omitempty"`

	// Recreate deletes the pods of the release's workloads after the
	// rollback so they restart, as Helm 3 did (Helm 4 dropped the option).
	// Deprecated: kept for compatibility only.
	// +optional
	Recreate bool `json:"recreate,omitempty"`

	// Force replaces objects instead of three-way merging them (client-side
	// apply only).
	// +optional
	Force bool `json:"force,omitempty"`

	// CleanupOnFail deletes objects created by a failed rollback.
	// +optional
	CleanupOnFail bool `json:"cleanupOnFail,omitempty"`

	// ServerSideApply says whether the rollback uses server-side apply;
	// auto (the default) follows the release rolled back to.
	// +kubebuilder:validation:Enum=enabled;disabled;auto
	// +optional
	ServerSideApply ServerSideApplyMode `json:"serverSideApply,omitempty"`
}

// GetTimeout returns the rollback timeout, or def when unset.
func (in Rollback) GetTimeout(def time.Duration) time.Duration {
	if in.Timeout == nil {
		return def
	}
	return in.Timeout.Duration
}

// GetServerSideApply returns the server-side apply mode, auto when unset.
func (in Rollback) GetServerSideApply() ServerSideApplyMode {
	if in.ServerSideApply == "" {
		return ServerSideApplyAuto
	}
	return in.ServerSideApply
}

// Uninstall configures the Helm uninstall action.
type Uninstall struct {
	// Timeout of each Kubernetes operation of the uninstall. Defaults to
	// spec.timeout.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// DisableHooks skips the chart's hooks.
	// +optional
	DisableHooks bool `json:"disableHooks,omitempty"`

	// KeepHistory deletes the objects but keeps the release history, marking
	// the release uninstalled.
	// +optional
	KeepHistory bool `json:"keepHistory,omitempty"`

	// DisableWait skips waiting for the objects to be deleted.
	// +optional
	DisableWait bool `json:"disableWait,omitempty"`

	// DeletionPropagation is the propagation policy of the deletes.
	// +kubebuilder:default=background
	// +kubebuilder:validation:Enum=background;foreground;orphan
	// +optional
	DeletionPropagation *string `json:"deletionPropagation,omitempty"`
}

// GetTimeout returns the uninstall timeout, or def when unset.
func (in Uninstall) GetTimeout(def time.Duration) time.Duration {
	if in.Timeout == nil {
		return def
	}
	return in.Timeout.Duration
}

// GetDeletionPropagation returns the propagation policy, background when
// unset.
func (in Uninstall) GetDeletionPropagation() string {
	if in.DeletionPropagation == nil || *in.DeletionPropagation == "" {
		return DeletionPropagationBackground
	}
	return *in.DeletionPropagation
}
