package v1

import (
	"time"

	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// KustomizationKind is the kind name of a Kustomization.
	KustomizationKind = "Kustomization"

	// KustomizationListKind is the kind name of a list of Kustomizations.
	KustomizationListKind = "KustomizationList"

	// KustomizationFinalizer is set on every Kustomization the controller
	// handles and removed once its objects are garbage collected.
	KustomizationFinalizer = "finalizers.fluxcd.io"

	// MaxConditionMessageLength caps condition messages so a huge build or
	// apply error cannot blow up the status.
	MaxConditionMessageLength = 20000
)

// Values of spec.deletionPolicy.
const (
	// DeletionPolicyMirrorPrune deletes the objects on deletion when prune is
	// true and orphans them otherwise.
	DeletionPolicyMirrorPrune = "MirrorPrune"

	// DeletionPolicyDelete always deletes the objects on deletion.
	DeletionPolicyDelete = "Delete"

	// DeletionPolicyWaitForTermination deletes the objects and waits until
	// they are gone before the finalizer is removed.
	DeletionPolicyWaitForTermination = "WaitForTermination"

	// DeletionPolicyOrphan leaves the objects in the cluster on deletion.
	DeletionPolicyOrphan = "Orphan"
)

// Values of spec.postBuild.substituteStrategy.
const (
	// SubstituteStrategyWithVariables substitutes only when at least one
	// variable is defined (the default).
	SubstituteStrategyWithVariables = "WithVariables"

	// SubstituteStrategyAlways substitutes even when no variable is defined.
	SubstituteStrategyAlways = "Always"
)

// Values of spec.buildMetadata.
const (
	// BuildMetadataOriginAnnotations annotates objects with the file they
	// came from.
	BuildMetadataOriginAnnotations = "originAnnotations"

	// BuildMetadataTransformerAnnotations annotates objects with the
	// transformers that changed them.
	BuildMetadataTransformerAnnotations = "transformerAnnotations"
)

// Per-object annotations and their values understood by the controller.
const (
	// SSAAnnotation selects how an object is applied:
	// Override (default), Merge, IfNotPresent or Ignore.
	SSAAnnotation = "kustomize.toolkit.fluxcd.io/ssa"

	// ForceAnnotation set to Enabled recreates the object when an immutable
	// field changed.
	ForceAnnotation = "kustomize.toolkit.fluxcd.io/force"

	// PruneAnnotation set to Disabled keeps the object when it leaves the source.
	PruneAnnotation = "kustomize.toolkit.fluxcd.io/prune"

	// ReconcileAnnotation set to disabled skips the object entirely.
	ReconcileAnnotation = "kustomize.toolkit.fluxcd.io/reconcile"

	// SubstituteAnnotation set to disabled skips variable substitution for
	// the object.
	SubstituteAnnotation = "kustomize.toolkit.fluxcd.io/substitute"

	// DecryptAnnotation set to Disabled skips decryption for the object.
	DecryptAnnotation = "kustomize.toolkit.fluxcd.io/decrypt"

	// EnabledValue turns an annotation-controlled behaviour on.
	EnabledValue = "enabled"

	// DisabledValue turns an annotation-controlled behaviour off.
	DisabledValue = "disabled"

	// OverrideValue is the default SSA policy: the object is fully owned.
	OverrideValue = "Override"

	// MergeValue is the SSA policy that keeps fields set by other managers.
	MergeValue = "Merge"

	// IfNotPresentValue is the SSA policy that only creates missing objects.
	IfNotPresentValue = "IfNotPresent"

	// IgnoreValue is the SSA policy that never applies the object.
	IgnoreValue = "Ignore"
)

// Labels the controller puts on every object it applies.
const (
	// NameLabel holds the name of the owning Kustomization.
	NameLabel = "kustomize.toolkit.fluxcd.io/name"

	// NamespaceLabel holds the namespace of the owning Kustomization.
	NamespaceLabel = "kustomize.toolkit.fluxcd.io/namespace"
)

// KustomizationSpec is the desired state: which source and path to build,
// how to transform the result and how to apply, check and prune it.
type KustomizationSpec struct {
	// SourceRef is the source whose artifact holds the manifests.
	// +required
	SourceRef CrossNamespaceSourceReference `json:"sourceRef"`

	// Path inside the artifact of the directory to build. Defaults to the
	// artifact root; a kustomization.yaml is generated when there is none.
	// +optional
	Path string `json:"path,omitempty"`

	// Interval between reconciliations.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +required
	Interval metav1.Duration `json:"interval"`

	// RetryInterval is the wait after a failed reconciliation. Defaults to
	// Interval.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	RetryInterval *metav1.Duration `json:"retryInterval,omitempty"`

	// Timeout bounds build, apply and health checks. Defaults to Interval
	// minus 30s, and is never below 30s.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Prune deletes objects that were applied before but left the source.
	// +required
	Prune bool `json:"prune"`

	// DeletionPolicy says what happens to the applied objects when the
	// Kustomization is deleted. MirrorPrune (the default) follows Prune.
	// +kubebuilder:validation:Enum=MirrorPrune;Delete;WaitForTermination;Orphan
	// +optional
	DeletionPolicy string `json:"deletionPolicy,omitempty"`

	// DependsOn lists Kustomizations that must be ready first.
	// +optional
	DependsOn []meta.DependencyReference `json:"dependsOn,omitempty"`

	// Suspend stops further reconciliations; one already running finishes.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// TargetNamespace sets the namespace of every namespaced object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +optional
	TargetNamespace string `json:"targetNamespace,omitempty"`

	// NamePrefix is prepended to the names of all objects.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=200
	// +optional
	NamePrefix string `json:"namePrefix,omitempty"`

	// NameSuffix is appended to the names of all objects.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=200
	// +optional
	NameSuffix string `json:"nameSuffix,omitempty"`

	// CommonMetadata holds labels and annotations set on every object,
	// replacing existing keys of the same name.
	// +optional
	CommonMetadata *CommonMetadata `json:"commonMetadata,omitempty"`

	// Patches are strategic-merge or JSON6902 patches applied to the objects
	// their target selects.
	// +optional
	Patches []kustomize.Patch `json:"patches,omitempty"`

	// Images overrides image names, tags or digests.
	// +optional
	Images []kustomize.Image `json:"images,omitempty"`

	// Components are paths, relative to Path, of kustomize Components to
	// include.
	// +optional
	Components []string `json:"components,omitempty"`

	// IgnoreMissingComponents drops Components that do not exist in the
	// artifact instead of failing the build.
	// +optional
	IgnoreMissingComponents bool `json:"ignoreMissingComponents,omitempty"`

	// BuildMetadata selects kustomize build metadata to add to the objects.
	// +kubebuilder:validation:items:Enum=originAnnotations;transformerAnnotations
	// +optional
	BuildMetadata []string `json:"buildMetadata,omitempty"`

	// PostBuild configures variable substitution on the built manifests.
	// +optional
	PostBuild *PostBuild `json:"postBuild,omitempty"`

	// Decryption configures decryption of encrypted Secrets before apply.
	// +optional
	Decryption *Decryption `json:"decryption,omitempty"`

	// Wait health-checks every applied object; HealthChecks is then ignored.
	// +optional
	Wait bool `json:"wait,omitempty"`

	// HealthChecks lists objects whose health is assessed after apply.
	// +optional
	HealthChecks []meta.NamespacedObjectKindReference `json:"healthChecks,omitempty"`

	// HealthCheckExprs are CEL expressions that tell the health of custom
	// kinds. Used only with Wait or HealthChecks.
	// +optional
	HealthCheckExprs []kustomize.CustomHealthCheck `json:"healthCheckExprs,omitempty"`

	// Force recreates objects when an apply fails on an immutable field.
	// +kubebuilder:default:=false
	// +optional
	Force bool `json:"force,omitempty"`

	// ServiceAccountName is the service account to impersonate when applying.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// KubeConfig targets a remote cluster instead of the local one.
	// +optional
	KubeConfig *meta.KubeConfigReference `json:"kubeConfig,omitempty"`

	// Ignore lists JSON pointer paths, per target, left out of drift
	// detection and apply.
	// +optional
	Ignore []IgnoreRule `json:"ignore,omitempty"`
}

// CommonMetadata holds labels and annotations to set on every object.
type CommonMetadata struct {
	// Annotations to add.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// Labels to add.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
}

// IgnoreRule names fields, by JSON pointer, that the controller neither
// corrects nor applies on the objects the target selects.
type IgnoreRule struct {
	// Paths are JSON pointers (RFC 6901) to the fields to ignore.
	// +required
	Paths []string `json:"paths"`

	// Target selects the objects the rule applies to; empty means all.
	// +optional
	Target *kustomize.Selector `json:"target,omitempty"`
}

// Decryption says how to decrypt encrypted manifests.
type Decryption struct {
	// Provider is the decryption engine.
	// +kubebuilder:validation:Enum=sops
	// +required
	Provider string `json:"provider"`

	// SecretRef names a Secret with the decryption keys. Static cloud
	// credentials in it win over ServiceAccountName.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// ServiceAccountName is the service account used to reach cloud KMS
	// without static credentials.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
}

// PostBuild configures variable substitution on the built manifests.
type PostBuild struct {
	// Substitute maps variable names to values. Bash-style forms such as
	// ${var:=default} are supported.
	// +optional
	Substitute map[string]string `json:"substitute,omitempty"`

	// SubstituteFrom lists ConfigMaps and Secrets whose data keys are
	// variable names. Later entries and Substitute win over earlier ones.
	// +optional
	SubstituteFrom []SubstituteReference `json:"substituteFrom,omitempty"`

	// SubstituteStrategy: WithVariables (the default) substitutes only when
	// a variable is defined; Always substitutes regardless.
	// +kubebuilder:validation:Enum=WithVariables;Always
	// +optional
	SubstituteStrategy string `json:"substituteStrategy,omitempty"`
}

// SubstituteReference names a ConfigMap or Secret holding variables.
type SubstituteReference struct {
	// Kind of the object.
	// +kubebuilder:validation:Enum=Secret;ConfigMap
	// +required
	Kind string `json:"kind"`

	// Name of the object, in the Kustomization's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// Optional lets a missing object count as one without variables.
	// +kubebuilder:default:=false
	// +optional
	Optional bool `json:"optional,omitempty"`
}

// KustomizationStatus is the observed state of a Kustomization.
type KustomizationStatus struct {
	meta.ReconcileRequestStatus `json:",inline"`

	// ObservedGeneration is the generation last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions hold Ready, Reconciling, Stalled and Healthy.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// LastAppliedRevision is the source revision last applied successfully.
	// +optional
	LastAppliedRevision string `json:"lastAppliedRevision,omitempty"`

	// LastAppliedOriginRevision is the origin revision (e.g. the Git commit
	// behind an OCI artifact) of the last successful apply.
	// +optional
	LastAppliedOriginRevision string `json:"lastAppliedOriginRevision,omitempty"`

	// LastAttemptedRevision is the source revision of the last attempt.
	// +optional
	LastAttemptedRevision string `json:"lastAttemptedRevision,omitempty"`

	// Inventory lists the objects applied successfully.
	// +optional
	Inventory *ResourceInventory `json:"inventory,omitempty"`

	// History holds snapshots of the latest reconciliations, newest first.
	// +optional
	History meta.History `json:"history,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ks,categories=all;fluxcd;fluxcd-appliers
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description=""
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status",description=""
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message",description=""

// Kustomization builds a path of a source artifact with kustomize and
// applies the result to the cluster.
type Kustomization struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state.
	Spec KustomizationSpec `json:"spec,omitempty"`

	// Status is the observed state.
	// +kubebuilder:default={"observedGeneration":-1}
	Status KustomizationStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// KustomizationList is a list of Kustomizations.
type KustomizationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the Kustomizations.
	Items []Kustomization `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Kustomization{}, &KustomizationList{})
}

// GetConditions returns the status conditions.
func (in *Kustomization) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *Kustomization) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns spec.interval, the wait between successful
// reconciliations.
func (in *Kustomization) GetRequeueAfter() time.Duration {
	return in.Spec.Interval.Duration
}

// GetRetryInterval returns spec.retryInterval, or spec.interval when unset.
func (in *Kustomization) GetRetryInterval() time.Duration {
	if in.Spec.RetryInterval != nil {
		return in.Spec.RetryInterval.Duration
	}
	return in.GetRequeueAfter()
}

// GetTimeout returns spec.timeout, or spec.interval minus 30s when unset;
// like Flux, the result is never below 30s.
func (in *Kustomization) GetTimeout() time.Duration {
	const floor = 30 * time.Second
	d := in.Spec.Interval.Duration - floor
	if in.Spec.Timeout != nil {
		d = in.Spec.Timeout.Duration
	}
	if d < floor {
		return floor
	}
	return d
}

// GetDeletionPolicy returns spec.deletionPolicy, MirrorPrune when unset.
func (in *Kustomization) GetDeletionPolicy() string {
	if in.Spec.DeletionPolicy == "" {
		return DeletionPolicyMirrorPrune
	}
	return in.Spec.DeletionPolicy
}

// GetDependsOn returns spec.dependsOn.
func (in *Kustomization) GetDependsOn() []meta.DependencyReference {
	return in.Spec.DependsOn
}

// GetObservedGeneration returns status.observedGeneration.
func (in *Kustomization) GetObservedGeneration() int64 {
	return in.Status.ObservedGeneration
}

// SetObservedGeneration sets status.observedGeneration.
func (in *Kustomization) SetObservedGeneration(g int64) {
	in.Status.ObservedGeneration = g
}

// IsSuspended reports spec.suspend.
func (in *Kustomization) IsSuspended() bool {
	return in.Spec.Suspend
}

// GetLastHandledReconcileRequest returns status.lastHandledReconcileAt.
func (in *Kustomization) GetLastHandledReconcileRequest() string {
	return in.Status.GetLastHandledReconcileRequest()
}

// SetLastHandledReconcileRequest sets status.lastHandledReconcileAt.
func (in *Kustomization) SetLastHandledReconcileRequest(token string) {
	in.Status.SetLastHandledReconcileRequest(token)
}
