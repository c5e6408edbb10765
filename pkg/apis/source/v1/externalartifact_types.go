package v1

import (
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ExternalArtifactSpec is the desired state of an ExternalArtifact.
type ExternalArtifactSpec struct {
	// SourceRef points to the object that generates this artifact.
	// +optional
	SourceRef *meta.NamespacedObjectKindReference `json:"sourceRef,omitempty"`
}

// ExternalArtifactStatus is the observed state of an ExternalArtifact, as
// written by its producer.
type ExternalArtifactStatus struct {
	// Artifact is the artifact offered to consumers.
	// +optional
	Artifact *meta.Artifact `json:"artifact,omitempty"`

	// Conditions of the ExternalArtifact.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// GetConditions returns the status conditions.
func (in *ExternalArtifact) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *ExternalArtifact) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetArtifact returns status.artifact.
func (in *ExternalArtifact) GetArtifact() *meta.Artifact {
	return in.Status.Artifact
}

// GetRequeueAfter returns 0: an ExternalArtifact is written by its producer,
// not polled.
func (in *ExternalArtifact) GetRequeueAfter() time.Duration {
	return 0
}

// ExternalArtifact is an artifact produced outside the source controller,
// e.g. by an ArtifactGenerator, and offered to consumers like any source.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:shortName=ea,categories=all;fluxcd;fluxcd-sources
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:printcolumn:name="Source",type="string",JSONPath=".spec.sourceRef.name"
type ExternalArtifact struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state.
	Spec ExternalArtifactSpec `json:"spec,omitempty"`

	// Status is the observed state.
	Status ExternalArtifactStatus `json:"status,omitempty"`
}

// ExternalArtifactList is a list of ExternalArtifact objects.
// +kubebuilder:object:root=true
type ExternalArtifactList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the ExternalArtifacts.
	Items []ExternalArtifact `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ExternalArtifact{}, &ExternalArtifactList{})
}
