package v1beta3

import (
	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AlertKind is the kind name of Alert.
const AlertKind string = "Alert"

// Event severities accepted in spec.eventSeverity.
const (
	// EventSeverityInfo forwards every event.
	EventSeverityInfo string = "info"
	// EventSeverityError forwards only error events.
	EventSeverityError string = "error"
)

// AlertSpec says which events are forwarded to which Provider.
type AlertSpec struct {
	// ProviderRef names the Provider, in the Alert's namespace, that
	// receives the events.
	// +required
	ProviderRef meta.LocalObjectReference `json:"providerRef"`

	// EventSeverity is the least severity forwarded: `info` forwards all
	// events, `error` only errors.
	// +kubebuilder:validation:Enum=info;error
	// +kubebuilder:default:=info
	// +optional
	EventSeverity string `json:"eventSeverity,omitempty"`

	// EventSources selects the objects whose events are forwarded.
	// +required
	EventSources []CrossNamespaceObjectReference `json:"eventSources"`

	// InclusionList holds Go regular expressions; when set, only events
	// whose message matches one of them are forwarded.
	// +optional
	InclusionList []string `json:"inclusionList,omitempty"`

	// EventMetadata is added to the metadata of each forwarded event; keys
	// already set by the emitter are kept as they are.
	// +optional
	EventMetadata map[string]string `json:"eventMetadata,omitempty"`

	// ExclusionList holds Go regular expressions; events whose message
	// matches one of them are dropped.
	// +optional
	ExclusionList []string `json:"exclusionList,omitempty"`

	// Summary is a short description added to the events.
	// Deprecated: use EventMetadata.
	// +kubebuilder:validation:MaxLength:=255
	// +optional
	Summary string `json:"summary,omitempty"`

	// Suspend stops forwarding events while true.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// +kubebuilder:storageversion
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories=all;fluxcd;fluxcd-notifications
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description=""
// +kubebuilder:metadata:annotations="kustomize.toolkit.fluxcd.io/substitute=disabled"

// Alert forwards the events of selected objects to a Provider.
type Alert struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AlertSpec `json:"spec,omitempty"`
}

// +kubebuilder:object:root=true

// AlertList is a list of Alerts.
type AlertList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Alert `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Alert{}, &AlertList{})
}

// IsSuspended returns spec.suspend.
func (in *Alert) IsSuspended() bool {
	return in.Spec.Suspend
}

// GetEventSeverity returns spec.eventSeverity, or info when it is empty.
func (in *Alert) GetEventSeverity() string {
	if in.Spec.EventSeverity == "" {
		return EventSeverityInfo
	}
	return in.Spec.EventSeverity
}
