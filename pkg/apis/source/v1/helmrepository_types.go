package v1

import (
	"time"

	"github.com/fluxcd/pkg/apis/acl"
	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// HelmRepository types.
const (
	// HelmRepositoryTypeDefault is an HTTP(S) repository with an index.yaml.
	HelmRepositoryTypeDefault string = "default"
	// HelmRepositoryTypeOCI is an OCI registry holding charts. Such objects
	// are static: they only carry credentials for HelmChart and HelmRelease.
	HelmRepositoryTypeOCI string = "oci"
)

// HelmRepositoryURLIndexKey is the file name of a Helm repository index.
const HelmRepositoryURLIndexKey = "index.yaml"

// Defaults of HelmRepository.
const (
	// DefaultHelmRepositoryInterval is used when spec.interval is not set.
	DefaultHelmRepositoryInterval = time.Minute
	// DefaultHelmRepositoryTimeout is used when spec.timeout is not set.
	DefaultHelmRepositoryTimeout = 60 * time.Second
)

// HelmRepositorySpec is the desired state of a HelmRepository: the index to
// fetch, or, for type oci, the registry credentials to offer charts.
type HelmRepositorySpec struct {
	// URL of the Helm repository: http(s):// for an index, oci:// for a
	// registry.
	// +kubebuilder:validation:Pattern="^(http|https|oci)://.*$"
	// +required
	URL string `json:"url"`

	// SecretRef names a Secret with the credentials: username and password
	// for basic auth (the certFile, keyFile and caFile keys are deprecated
	// in favour of certSecretRef).
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// CertSecretRef names a Secret with a client certificate and key
	// (tls.crt, tls.key) and/or a CA certificate (ca.crt). It wins over the
	// TLS keys in secretRef.
	// +optional
	CertSecretRef *meta.LocalObjectReference `json:"certSecretRef,omitempty"`

	// PassCredentials also sends the credentials to hosts other than the
	// one in URL, e.g. when chart URLs in the index point elsewhere.
	// +optional
	PassCredentials bool `json:"passCredentials,omitempty"`

	// Interval between fetches of the index; 1m when not set.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Interval metav1.Duration `json:"interval,omitempty"`

	// Insecure allows plain-HTTP registries; only used with type oci.
	// +optional
	Insecure bool `json:"insecure,omitempty"`

	// Timeout of the index fetch, and of chart pulls from an OCI
	// repository; 60s when not set.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Suspend stops reconciliation of this object while true.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// AccessFrom lists the namespaces whose objects may reference this
	// repository.
	// +optional
	AccessFrom *acl.AccessFrom `json:"accessFrom,omitempty"`

	// Type of the repository: default (HTTP index) or oci.
	// +kubebuilder:validation:Enum=default;oci
	// +optional
	Type string `json:"type,omitempty"`

	// Provider selects how to authenticate to an OCI registry; only used
	// with type oci.
	// +kubebuilder:validation:Enum=generic;aws;azure;gcp
	// +kubebuilder:default:=generic
	// +optional
	Provider string `json:"provider,omitempty"`
}

// HelmRepositoryStatus is the observed state of a HelmRepository.
type HelmRepositoryStatus struct {
	// ObservedGeneration is the last generation of the object that was
	// reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions of the HelmRepository.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// URL is a stable download link to the latest index.yaml.
	// +optional
	URL string `json:"url,omitempty"`

	// Artifact is the output of the last successful reconciliation.
	// +optional
	Artifact *meta.Artifact `json:"artifact,omitempty"`

	meta.ReconcileRequestStatus `json:",inline"`
}

// GetConditions returns the status conditions.
func (in *HelmRepository) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *HelmRepository) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns spec.interval, or 1m when it is not set.
func (in *HelmRepository) GetRequeueAfter() time.Duration {
	if in.Spec.Interval.Duration <= 0 {
		return DefaultHelmRepositoryInterval
	}
	return in.Spec.Interval.Duration
}

// GetTimeout returns spec.timeout, or 60s when it is not set.
func (in *HelmRepository) GetTimeout() time.Duration {
	if in.Spec.Timeout == nil || in.Spec.Timeout.Duration <= 0 {
		return DefaultHelmRepositoryTimeout
	}
	return in.Spec.Timeout.Duration
}

// GetObservedGeneration returns status.observedGeneration.
func (in *HelmRepository) GetObservedGeneration() int64 {
	return in.Status.ObservedGeneration
}

// SetObservedGeneration sets status.observedGeneration.
func (in *HelmRepository) SetObservedGeneration(g int64) {
	in.Status.ObservedGeneration = g
}

// IsSuspended returns spec.suspend.
func (in *HelmRepository) IsSuspended() bool {
	return in.Spec.Suspend
}

// GetArtifact returns status.artifact.
func (in *HelmRepository) GetArtifact() *meta.Artifact {
	return in.Status.Artifact
}

// GetLastHandledReconcileRequest returns status.lastHandledReconcileAt.
func (in *HelmRepository) GetLastHandledReconcileRequest() string {
	return in.Status.GetLastHandledReconcileRequest()
}

// SetLastHandledReconcileRequest sets status.lastHandledReconcileAt.
func (in *HelmRepository) SetLastHandledReconcileRequest(token string) {
	in.Status.SetLastHandledReconcileRequest(token)
}

// HelmRepository produces an artifact from a Helm repository index, or
// holds the credentials of an OCI chart registry.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:shortName=helmrepo,categories=all;fluxcd;fluxcd-sources
// +kubebuilder:printcolumn:name="URL",type="string",JSONPath=".spec.url"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
type HelmRepository struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state.
	Spec HelmRepositorySpec `json:"spec,omitempty"`

	// Status is the observed state.
	// +kubebuilder:default={"observedGeneration":-1}
	Status HelmRepositoryStatus `json:"status,omitempty"`
}

// HelmRepositoryList is a list of HelmRepository objects.
// +kubebuilder:object:root=true
type HelmRepositoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the HelmRepositories.
	Items []HelmRepository `json:"items"`
}

func init() {
	SchemeBuilder.Register(&HelmRepository{}, &HelmRepositoryList{})
}
