package v2

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/apis/meta"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// HelmReleaseKind is the kind name of a HelmRelease.
	HelmReleaseKind = "HelmRelease"

	// HelmReleaseListKind is the kind name of a list of HelmReleases.
	HelmReleaseListKind = "HelmReleaseList"

	// HelmReleaseFinalizer is set on every HelmRelease the controller handles
	// and removed once the release is uninstalled.
	HelmReleaseFinalizer = "finalizers.fluxcd.io"

	// DefaultMaxHistory is the number of release versions Helm keeps when
	// spec.maxHistory is unset.
	DefaultMaxHistory = 5

	// DefaultTimeout is the Helm action timeout when spec.timeout is unset.
	DefaultTimeout = 5 * time.Minute

	// MaxReleaseNameLength is the longest release name Helm accepts.
	MaxReleaseNameLength = 53
)

// ReleaseAction is the Helm action last attempted for a HelmRelease.
type ReleaseAction string

const (
	// ReleaseActionInstall is a Helm install.
	ReleaseActionInstall ReleaseAction = "install"
	// ReleaseActionUpgrade is a Helm upgrade.
	ReleaseActionUpgrade ReleaseAction = "upgrade"
)

// HelmReleaseSpec is the desired state of a Helm release.
// +kubebuilder:validation:XValidation:rule="(has(self.chart) && !has(self.chartRef)) || (!has(self.chart) && has(self.chartRef))",message="either chart or chartRef must be set"
type HelmReleaseSpec struct {
	// Chart is the template of the HelmChart the controller creates for
	// this release. Exactly one of Chart and ChartRef is set.
	// +optional
	Chart *HelmChartTemplate `json:"chart,omitempty"`

	// ChartRef points at an existing source whose artifact is the chart.
	// Exactly one of Chart and ChartRef is set.
	// +optional
	ChartRef *CrossNamespaceSourceReference `json:"chartRef,omitempty"`

	// Interval between reconciliations.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +required
	Interval metav1.Duration `json:"interval"`

	// KubeConfig targets a remote cluster instead of the local one.
	// +optional
	KubeConfig *meta.KubeConfigReference `json:"kubeConfig,omitempty"`

	// Suspend stops further reconciliations; one already running finishes.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// ReleaseName is the Helm release name. Defaults to
	// '[<targetNamespace>-]<name>', shortened with a hash above 53 characters.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=53
	// +optional
	ReleaseName string `json:"releaseName,omitempty"`

	// TargetNamespace is the namespace the release is installed into.
	// Defaults to the HelmRelease's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +optional
	TargetNamespace string `json:"targetNamespace,omitempty"`

	// StorageNamespace is the namespace of the Helm release storage.
	// Defaults to the HelmRelease's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +optional
	StorageNamespace string `json:"storageNamespace,omitempty"`

	// DependsOn lists HelmReleases that must be ready first.
	// +optional
	DependsOn []meta.DependencyReference `json:"dependsOn,omitempty"`

	// Timeout of each Kubernetes operation (hook Jobs, waits) during a Helm
	// action. Defaults to 5m.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// MaxHistory is the number of release versions Helm keeps; 0 keeps all.
	// Defaults to 5.
	// +optional
	MaxHistory *int `json:"maxHistory,omitempty"`

	// ServiceAccountName is the service account to impersonate.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// PersistentClient reuses one Kubernetes client for the whole
	// reconciliation instead of one per Helm action. Defaults to true.
	// +optional
	PersistentClient *bool `json:"persistentClient,omitempty"`

	// DriftDetection configures detection of cluster changes to release
	// objects.
	// +optional
	DriftDetection *DriftDetection `json:"driftDetection,omitempty"`

	// Install configures the Helm install action.
	// +optional
	Install *Install `json:"install,omitempty"`

	// Upgrade configures the Helm upgrade action.
	// +optional
	Upgrade *Upgrade `json:"upgrade,omitempty"`

	// Test configures the Helm test action.
	// +optional
	Test *Test `json:"test,omitempty"`

	// Rollback configures the Helm rollback action.
	// +optional
	Rollback *Rollback `json:"rollback,omitempty"`

	// Uninstall configures the Helm uninstall action.
	// +optional
	Uninstall *Uninstall `json:"uninstall,omitempty"`

	// ValuesFrom lists ConfigMaps and Secrets holding values, merged in
	// order before Values.
	// +optional
	ValuesFrom []meta.ValuesReference `json:"valuesFrom,omitempty"`

	// Values are the release values, merged last.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Values *apiextensionsv1.JSON `json:"values,omitempty"`

	// PostRenderers are applied in order to the rendered manifests.
	// +optional
	PostRenderers []PostRenderer `json:"postRenderers,omitempty"`

	// PostRenderStrategy says which manifests the post-renderers receive:
	// nohooks, combined or separate. Defaults to combined.
	// +kubebuilder:validation:Enum=nohooks;combined;separate
	// +optional
	PostRenderStrategy PostRenderStrategy `json:"postRenderStrategy,omitempty"`

	// CommonMetadata holds labels and annotations set on every release
	// object.
	// +optional
	CommonMetadata *CommonMetadata `json:"commonMetadata,omitempty"`

	// WaitStrategy says how Helm waits for objects to become ready.
	// +optional
	WaitStrategy *WaitStrategy `json:"waitStrategy,omitempty"`

	// HealthCheckExprs are CEL expressions that tell the health of custom
	// kinds while waiting with the poller strategy.
	// +optional
	HealthCheckExprs []kustomize.CustomHealthCheck `json:"healthCheckExprs,omitempty"`
}

// HelmReleaseStatus is the observed state of a HelmRelease.
type HelmReleaseStatus struct {
	meta.ReconcileRequestStatus `json:",inline"`
	meta.ForceRequestStatus     `json:",inline"`

	// ObservedGeneration is the generation last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// ObservedPostRenderersDigest is the digest of the post-renderers of the
	// last successful reconciliation.
	// +optional
	ObservedPostRenderersDigest string `json:"observedPostRenderersDigest,omitempty"`

	// ObservedCommonMetadataDigest is the digest of the common metadata of
	// the last successful reconciliation.
	// +optional
	ObservedCommonMetadataDigest string `json:"observedCommonMetadataDigest,omitempty"`

	// LastAttemptedGeneration is the generation of the last release attempt.
	// +optional
	LastAttemptedGeneration int64 `json:"lastAttemptedGeneration,omitempty"`

	// Conditions hold Ready, Reconciling, Stalled, Released, TestSuccess,
	// Remediated and Drifted.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// HelmChart is '<namespace>/<name>' of the HelmChart the controller
	// manages for spec.chart.
	// +optional
	HelmChart string `json:"helmChart,omitempty"`

	// StorageNamespace is the namespace of the Helm storage of the current
	// release.
	// +optional
	StorageNamespace string `json:"storageNamespace,omitempty"`

	// History holds the releases handled by the controller, newest first.
	// +optional
	History Snapshots `json:"history,omitempty"`

	// LastAttemptedReleaseAction is the last install or upgrade attempted.
	// +kubebuilder:validation:Enum=install;upgrade
	// +optional
	LastAttemptedReleaseAction ReleaseAction `json:"lastAttemptedReleaseAction,omitempty"`

	// LastAttemptedReleaseActionDuration is how long that action took.
	// +optional
	LastAttemptedReleaseActionDuration *metav1.Duration `json:"lastAttemptedReleaseActionDuration,omitempty"`

	// Failures counts failed reconciliations since the last success.
	// +optional
	Failures int64 `json:"failures,omitempty"`

	// InstallFailures counts failed installs since the last success.
	// +optional
	InstallFailures int64 `json:"installFailures,omitempty"`

	// UpgradeFailures counts failed upgrades since the last success.
	// +optional
	UpgradeFailures int64 `json:"upgradeFailures,omitempty"`

	// LastAttemptedRevision is the chart version of the last attempt.
	// +optional
	LastAttemptedRevision string `json:"lastAttemptedRevision,omitempty"`

	// LastAttemptedRevisionDigest is the digest of the chart artifact of the
	// last attempt.
	// +optional
	LastAttemptedRevisionDigest string `json:"lastAttemptedRevisionDigest,omitempty"`

	// LastAttemptedValuesChecksum is the SHA1 of the values of the last
	// attempt.
	// Deprecated: use LastAttemptedConfigDigest.
	// +optional
	LastAttemptedValuesChecksum string `json:"lastAttemptedValuesChecksum,omitempty"`

	// LastAttemptedConfigDigest is the digest of the values of the last
	// attempt.
	// +optional
	LastAttemptedConfigDigest string `json:"lastAttemptedConfigDigest,omitempty"`

	// LastReleaseRevision is the version of the last successful release.
	// Deprecated: use History.
	// +optional
	LastReleaseRevision int `json:"lastReleaseRevision,omitempty"`

	// LastHandledResetAt is the last handled reset request token.
	// +optional
	LastHandledResetAt string `json:"lastHandledResetAt,omitempty"`

	// Inventory lists the objects of the current release.
	// +optional
	Inventory *ResourceInventory `json:"inventory,omitempty"`
}

// ClearHistory empties the release history.
func (in *HelmReleaseStatus) ClearHistory() {
	in.History = nil
}

// ClearFailures resets all failure counters.
func (in *HelmReleaseStatus) ClearFailures() {
	in.Failures = 0
	in.InstallFailures = 0
	in.UpgradeFailures = 0
}

// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=hr,categories=all;fluxcd;fluxcd-appliers
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description=""
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status",description=""
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message",description=""

// HelmRelease installs a Helm chart into the cluster and keeps the release
// in line with the chart and values.
type HelmRelease struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state.
	Spec HelmReleaseSpec `json:"spec,omitempty"`

	// Status is the observed state.
	// +kubebuilder:default={"observedGeneration":-1}
	Status HelmReleaseStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// HelmReleaseList is a list of HelmReleases.
type HelmReleaseList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the HelmReleases.
	Items []HelmRelease `json:"items"`
}

func init() {
	SchemeBuilder.Register(&HelmRelease{}, &HelmReleaseList{})
}

// GetConditions returns the status conditions.
func (in *HelmRelease) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *HelmRelease) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns spec.interval, the wait between successful
// reconciliations.
func (in *HelmRelease) GetRequeueAfter() time.Duration {
	return in.Spec.Interval.Duration
}

// GetTimeout returns spec.timeout, 5m when unset.
func (in *HelmRelease) GetTimeout() time.Duration {
	if in.Spec.Timeout == nil {
		return DefaultTimeout
	}
	return in.Spec.Timeout.Duration
}

// GetObservedGeneration returns status.observedGeneration.
func (in *HelmRelease) GetObservedGeneration() int64 {
	return in.Status.ObservedGeneration
}

// SetObservedGeneration sets status.observedGeneration.
func (in *HelmRelease) SetObservedGeneration(g int64) {
	in.Status.ObservedGeneration = g
}

// IsSuspended reports spec.suspend.
func (in *HelmRelease) IsSuspended() bool {
	return in.Spec.Suspend
}

// GetDependsOn returns spec.dependsOn.
func (in *HelmRelease) GetDependsOn() []meta.DependencyReference {
	return in.Spec.DependsOn
}

// GetLastHandledReconcileRequest returns status.lastHandledReconcileAt.
func (in *HelmRelease) GetLastHandledReconcileRequest() string {
	return in.Status.GetLastHandledReconcileRequest()
}

// SetLastHandledReconcileRequest sets status.lastHandledReconcileAt.
func (in *HelmRelease) SetLastHandledReconcileRequest(token string) {
	in.Status.SetLastHandledReconcileRequest(token)
}

// GetLastHandledForceRequestStatus points at status.lastHandledForceAt.
func (in *HelmRelease) GetLastHandledForceRequestStatus() *string {
	return &in.Status.LastHandledForceAt
}

// GetLastHandledResetRequestStatus points at status.lastHandledResetAt.
func (in *HelmRelease) GetLastHandledResetRequestStatus() *string {
	return &in.Status.LastHandledResetAt
}

// GetReleaseName returns spec.releaseName, or '[<targetNamespace>-]<name>'.
// A generated name longer than 53 characters is cut to 40 and suffixed with
// '-' and the first 12 hex characters of its SHA-256.
func (in *HelmRelease) GetReleaseName() string {
	if in.Spec.ReleaseName != "" {
		return in.Spec.ReleaseName
	}
	name := in.Name
	if in.Spec.TargetNamespace != "" {
		name = in.Spec.TargetNamespace + "-" + in.Name
	}
	return shortenName(name)
}

// shortenName keeps names of up to MaxReleaseNameLength characters and
// replaces the tail of longer ones with a short hash of the whole name.
func shortenName(name string) string {
	if len(name) <= MaxReleaseNameLength {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	suffix := hex.EncodeToString(sum[:])[:12]
	return name[:MaxReleaseNameLength-len(suffix)-1] + "-" + suffix
}

// GetReleaseNamespace returns spec.targetNamespace, or the object's
// namespace.
func (in *HelmRelease) GetReleaseNamespace() string {
	if in.Spec.TargetNamespace != "" {
		return in.Spec.TargetNamespace
	}
	return in.Namespace
}

// GetStorageNamespace returns spec.storageNamespace, or the object's
// namespace.
func (in *HelmRelease) GetStorageNamespace() string {
	if in.Spec.StorageNamespace != "" {
		return in.Spec.StorageNamespace
	}
	return in.Namespace
}

// GetMaxHistory returns spec.maxHistory, 5 when unset.
func (in *HelmRelease) GetMaxHistory() int {
	if in.Spec.MaxHistory == nil {
		return DefaultMaxHistory
	}
	return *in.Spec.MaxHistory
}

// GetValues decodes spec.values; it returns nil when they are unset or not
// a JSON object.
func (in *HelmRelease) GetValues() map[string]interface{} {
	if in.Spec.Values == nil || len(in.Spec.Values.Raw) == 0 {
		return nil
	}
	var values map[string]interface{}
	if err := json.Unmarshal(in.Spec.Values.Raw, &values); err != nil {
		return nil
	}
	return values
}

// UsePersistentClient returns spec.persistentClient, true when unset.
func (in *HelmRelease) UsePersistentClient() bool {
	return in.Spec.PersistentClient == nil || *in.Spec.PersistentClient
}

// HasChartRef reports whether the chart comes from spec.chartRef.
func (in *HelmRelease) HasChartRef() bool {
	return in.Spec.ChartRef != nil
}

// HasChartTemplate reports whether the chart comes from spec.chart.
func (in *HelmRelease) HasChartTemplate() bool {
	return in.Spec.Chart != nil
}

// GetHelmChartName returns the name of the HelmChart generated for
// spec.chart: '<namespace>-<name>'.
func (in *HelmRelease) GetHelmChartName() string {
	return in.Namespace + "-" + in.Name
}

// GetInstall returns spec.install, empty when unset.
func (in *HelmRelease) GetInstall() Install {
	if in.Spec.Install == nil {
		return Install{}
	}
	return *in.Spec.Install
}

// GetUpgrade returns spec.upgrade, empty when unset.
func (in *HelmRelease) GetUpgrade() Upgrade {
	if in.Spec.Upgrade == nil {
		return Upgrade{}
	}
	return *in.Spec.Upgrade
}

// GetTest returns spec.test, empty when unset.
func (in *HelmRelease) GetTest() Test {
	if in.Spec.Test == nil {
		return Test{}
	}
	return *in.Spec.Test
}

// GetRollback returns spec.rollback, empty when unset.
func (in *HelmRelease) GetRollback() Rollback {
	if in.Spec.Rollback == nil {
		return Rollback{}
	}
	return *in.Spec.Rollback
}

// GetUninstall returns spec.uninstall, empty when unset.
func (in *HelmRelease) GetUninstall() Uninstall {
	if in.Spec.Uninstall == nil {
		return Uninstall{}
	}
	return *in.Spec.Uninstall
}

// GetDriftDetection returns spec.driftDetection, empty (disabled) when unset.
func (in *HelmRelease) GetDriftDetection() DriftDetection {
	if in.Spec.DriftDetection == nil {
		return DriftDetection{}
	}
	return *in.Spec.DriftDetection
}

// GetPostRenderStrategy returns spec.postRenderStrategy, combined when
// unset.
func (in *HelmRelease) GetPostRenderStrategy() PostRenderStrategy {
	if in.Spec.PostRenderStrategy == "" {
		return PostRenderStrategyCombined
	}
	return in.Spec.PostRenderStrategy
}

// GetWaitStrategyName returns spec.waitStrategy.name, poller when unset.
func (in *HelmRelease) GetWaitStrategyName() WaitStrategyName {
	if in.Spec.WaitStrategy == nil || in.Spec.WaitStrategy.Name == "" {
		return WaitStrategyPoller
	}
	return in.Spec.WaitStrategy.Name
}

// GetActiveRemediation returns the remediation of the last attempted
// action, or nil when no install or upgrade was attempted.
func (in *HelmRelease) GetActiveRemediation() Remediation {
	switch in.Status.LastAttemptedReleaseAction {
	case ReleaseActionInstall:
		return in.GetInstall().GetRemediation()
	case ReleaseActionUpgrade:
		return in.GetUpgrade().GetRemediation()
	default:
		return nil
	}
}
