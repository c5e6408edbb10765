package v1

import (
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ImagePolicyKind is the kind name of ImagePolicy.
const ImagePolicyKind = "ImagePolicy"

// DefaultImagePolicyDigestInterval is how often the digest of the latest
// tag is refreshed with digestReflectionPolicy Always when no interval is set.
const DefaultImagePolicyDigestInterval = 10 * time.Minute

// ImagePolicySpec says which ImageRepository to read tags from and how to
// pick the latest one.
// +kubebuilder:validation:XValidation:rule="!has(self.interval) || (has(self.digestReflectionPolicy) && self.digestReflectionPolicy == 'Always')",message="spec.interval is only accepted when spec.digestReflectionPolicy is set to 'Always'"
// +kubebuilder:validation:XValidation:rule="has(self.interval) || !has(self.digestReflectionPolicy) || self.digestReflectionPolicy != 'Always'",message="spec.interval must be set when spec.digestReflectionPolicy is set to 'Always'"
type ImagePolicySpec struct {
	// ImageRepositoryRef points at the ImageRepository whose tags are used.
	// Another namespace is allowed only if that repository's accessFrom
	// admits this one.
	// +required
	ImageRepositoryRef meta.NamespacedObjectReference `json:"imageRepositoryRef"`

	// Policy is the rule that orders the tags; exactly one of its fields
	// must be set.
	// +required
	Policy ImagePolicyChoice `json:"policy"`

	// FilterTags narrows the tags before the policy orders them.
	// +optional
	FilterTags *TagFilter `json:"filterTags,omitempty"`

	// DigestReflectionPolicy controls status.latestRef.digest: `Never`
	// leaves it empty, `IfNotPresent` fills it once per chosen tag, `Always`
	// refreshes it every interval.
	// +kubebuilder:default:=Never
	// +optional
	DigestReflectionPolicy ReflectionPolicy `json:"digestReflectionPolicy,omitempty"`

	// Interval is how often the digest of the latest tag is refreshed; it
	// is accepted, and required, only with digestReflectionPolicy Always.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// Suspend stops further evaluation of the policy while true.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// ReflectionPolicy says when a value read from the registry is written to
// the status.
// +kubebuilder:validation:Enum=Always;IfNotPresent;Never
type ReflectionPolicy string

const (
	// ReflectAlways writes the registry value on every reconcile.
	ReflectAlways ReflectionPolicy = "Always"
	// ReflectIfNotPresent writes the registry value only when the field is
	// empty or the chosen image changed.
	ReflectIfNotPresent ReflectionPolicy = "IfNotPresent"
	// ReflectNever never writes the registry value.
	ReflectNever ReflectionPolicy = "Never"
)

// ImagePolicyChoice holds exactly one tag ordering rule.
// +kubebuilder:validation:MinProperties=1
// +kubebuilder:validation:MaxProperties=1
type ImagePolicyChoice struct {
	// SemVer picks the highest tag that is a semantic version within a range.
	// +optional
	SemVer *SemVerPolicy `json:"semver,omitempty"`

	// Alphabetical picks the tag that sorts last (or first) as a string.
	// +optional
	Alphabetical *AlphabeticalPolicy `json:"alphabetical,omitempty"`

	// Numerical picks the tag that sorts last (or first) as a number.
	// +optional
	Numerical *NumericalPolicy `json:"numerical,omitempty"`
}

// SemVerPolicy is the semantic version ordering rule.
type SemVerPolicy struct {
	// Range is a semver constraint, e.g. `>=1.0.0 <2.0.0`; the highest tag
	// within it is chosen.
	// +required
	Range string `json:"range"`
}

// Sort orders accepted by the alphabetical and numerical policies.
const (
	// OrderAsc chooses the greatest tag (z over a, 9 over 0).
	OrderAsc string = "asc"
	// OrderDesc chooses the smallest tag.
	OrderDesc string = "desc"
)

// AlphabeticalPolicy is the string ordering rule.
type AlphabeticalPolicy struct {
	// Order is `asc` to choose the tag that sorts last, `desc` for the one
	// that sorts first.
	// +kubebuilder:default:="asc"
	// +kubebuilder:validation:Enum=asc;desc
	// +optional
	Order string `json:"order,omitempty"`
}

// NumericalPolicy is the numeric ordering rule.
type NumericalPolicy struct {
	// Order is `asc` to choose the largest number, `desc` for the smallest.
	// +kubebuilder:default:="asc"
	// +kubebuilder:validation:Enum=asc;desc
	// +optional
	Order string `json:"order,omitempty"`
}

// TagFilter keeps only the tags matching a regular expression, and can
// replace each by a value extracted from the match before ordering.
type TagFilter struct {
	// Pattern is a Go regular expression that a tag must match.
	// +optional
	Pattern string `json:"pattern,omitempty"`

	// Extract is a template of capture groups (e.g. `$ts`) whose expansion
	// is ordered instead of the whole tag.
	// +optional
	Extract string `json:"extract,omitempty"`
}

// ImageRef identifies one image: repository name, tag and optionally digest.
type ImageRef struct {
	// Name is the image repository, without tag or digest.
	// +required
	Name string `json:"name"`

	// Tag is the image tag.
	// +required
	Tag string `json:"tag"`

	// Digest is the manifest digest of the tag, e.g. `sha256:...`.
	// +optional
	Digest string `json:"digest,omitempty"`
}

// String formats the reference as name:tag, plus @digest when known.
func (in *ImageRef) String() string {
	s := in.Name + ":" + in.Tag
	if in.Digest != "" {
		s += "@" + in.Digest
	}
	return s
}

// ImagePolicyStatus is the observed state of an ImagePolicy.
type ImagePolicyStatus struct {
	// LatestRef is the image chosen by the policy.
	// +optional
	LatestRef *ImageRef `json:"latestRef,omitempty"`

	// ObservedPreviousRef is the LatestRef before the last change.
	// +optional
	ObservedPreviousRef *ImageRef `json:"observedPreviousRef,omitempty"`

	// ObservedGeneration is the generation last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions are the kstatus conditions of the object.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	meta.ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:storageversion
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=imgpol;imagepol,categories=all;fluxcd;fluxcd-images
// +kubebuilder:printcolumn:name="Image",type="string",JSONPath=".status.latestRef.name"
// +kubebuilder:printcolumn:name="Tag",type="string",JSONPath=".status.latestRef.tag"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status",description=""
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message",description=""
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description=""

// ImagePolicy chooses the latest image from the tags of an ImageRepository.
type ImagePolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ImagePolicySpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status ImagePolicyStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ImagePolicyList is a list of ImagePolicies.
type ImagePolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ImagePolicy `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ImagePolicy{}, &ImagePolicyList{})
}

// GetConditions returns status.conditions.
func (in *ImagePolicy) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces status.conditions.
func (in *ImagePolicy) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetDigestReflectionPolicy returns spec.digestReflectionPolicy, or
// ReflectNever when it is empty.
func (in *ImagePolicy) GetDigestReflectionPolicy() ReflectionPolicy {
	if in.Spec.DigestReflectionPolicy != "" {
		return in.Spec.DigestReflectionPolicy
	}
	return ReflectNever
}

// GetInterval returns how often the policy is re-evaluated on its own:
// spec.interval (default 10m) with digestReflectionPolicy Always, else zero
// (the policy is then driven by its ImageRepository only).
func (in *ImagePolicy) GetInterval() time.Duration {
	if in.GetDigestReflectionPolicy() != ReflectAlways {
		return 0
	}
	if in.Spec.Interval == nil || in.Spec.Interval.Duration <= 0 {
		return DefaultImagePolicyDigestInterval
	}
	return in.Spec.Interval.Duration
}

// GetRequeueAfter returns GetInterval: zero unless the digest is refreshed
// periodically.
func (in *ImagePolicy) GetRequeueAfter() time.Duration {
	return in.GetInterval()
}

// GetObservedGeneration returns status.observedGeneration.
func (in *ImagePolicy) GetObservedGeneration() int64 {
	return in.Status.ObservedGeneration
}

// SetObservedGeneration sets status.observedGeneration.
func (in *ImagePolicy) SetObservedGeneration(generation int64) {
	in.Status.ObservedGeneration = generation
}

// IsSuspended returns spec.suspend.
func (in *ImagePolicy) IsSuspended() bool {
	return in.Spec.Suspend
}

// GetLastHandledReconcileRequest returns status.lastHandledReconcileAt.
func (in *ImagePolicy) GetLastHandledReconcileRequest() string {
	return in.Status.GetLastHandledReconcileRequest()
}

// SetLastHandledReconcileRequest sets status.lastHandledReconcileAt.
func (in *ImagePolicy) SetLastHandledReconcileRequest(token string) {
	in.Status.SetLastHandledReconcileRequest(token)
}
