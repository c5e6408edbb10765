package v1

import (
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// OCIRepositoryPrefix is the scheme every OCIRepository URL starts with.
const OCIRepositoryPrefix = "oci://"

// OCI registry authentication providers.
const (
	// GenericOCIProvider uses secretRef or the ServiceAccount's pull secrets.
	GenericOCIProvider string = "generic"
	// AmazonOCIProvider uses AWS workload identity for ECR.
	AmazonOCIProvider string = "aws"
	// AzureOCIProvider uses Azure workload identity for ACR.
	AzureOCIProvider string = "azure"
	// GoogleOCIProvider uses GCP workload identity for Artifact Registry.
	GoogleOCIProvider string = "gcp"
)

// Layer operations of an OCIRepository layer selector.
const (
	// OCILayerExtract unpacks the selected layer into the artifact.
	OCILayerExtract string = "extract"
	// OCILayerCopy stores the selected layer as it is.
	OCILayerCopy string = "copy"
)

// DefaultOCITimeout is used when spec.timeout is not set.
const DefaultOCITimeout = 60 * time.Second

// OCIRepositorySpec is the desired state of an OCIRepository: which
// artifact to pull from a container registry, and how.
type OCIRepositorySpec struct {
	// URL of the OCI repository, such as oci://ghcr.io/org/manifests.
	// +kubebuilder:validation:Pattern="^oci://.*$"
	// +required
	URL string `json:"url"`

	// Reference is the tag, version range or digest to pull; the latest tag
	// when not set.
	// +optional
	Reference *OCIRepositoryRef `json:"ref,omitempty"`

	// LayerSelector picks the layer to use; the first layer when not set.
	// +optional
	LayerSelector *OCILayerSelector `json:"layerSelector,omitempty"`

	// Provider selects how to authenticate to the registry.
	// +kubebuilder:validation:Enum=generic;aws;azure;gcp
	// +kubebuilder:default:=generic
	// +optional
	Provider string `json:"provider,omitempty"`

	// SecretRef names a kubernetes.io/dockerconfigjson Secret with the
	// registry credentials.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// Verify configures verification of the artifact signature.
	// +optional
	Verify *OCIRepositoryVerification `json:"verify,omitempty"`

	// ServiceAccountName is the ServiceAccount whose image pull secrets, or
	// workload identity, are used to authenticate.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// CertSecretRef names a Secret with a client certificate and key
	// (tls.crt, tls.key) and/or a CA certificate (ca.crt) for the registry.
	// +optional
	CertSecretRef *meta.LocalObjectReference `json:"certSecretRef,omitempty"`

	// ProxySecretRef names a Secret with the proxy address, username and
	// password to use for the registry.
	// +optional
	ProxySecretRef *meta.LocalObjectReference `json:"proxySecretRef,omitempty"`

	// Interval between checks of the registry for a new artifact.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +required
	Interval metav1.Duration `json:"interval"`

	// Timeout of registry operations such as pulling.
	// +kubebuilder:default="60s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Ignore replaces the default exclusion patterns, in .sourceignore
	// (gitignore) syntax.
	// +optional
	Ignore *string `json:"ignore,omitempty"`

	// Insecure allows plain-HTTP registries.
	// +optional
	Insecure bool `json:"insecure,omitempty"`

	// Suspend stops reconciliation of this object while true.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// OCIRepositoryRef selects the artifact to pull. Digest wins over SemVer,
// SemVer over Tag.
type OCIRepositoryRef struct {
	// Digest to pull, as sha256:<hex>.
	// +optional
	Digest string `json:"digest,omitempty"`

	// SemVer is a version range; the highest matching tag is pulled.
	// +optional
	SemVer string `json:"semver,omitempty"`

	// SemverFilter is a regular expression the tags must match before the
	// SemVer range is applied.
	// +optional
	SemverFilter string `json:"semverFilter,omitempty"`

	// Tag to pull; latest when nothing is set.
	// +optional
	Tag string `json:"tag,omitempty"`
}

// OCILayerSelector picks one layer of the OCI artifact and says what to do
// with it.
type OCILayerSelector struct {
	// MediaType of the layer to use; the first layer with this type is
	// selected.
	// +optional
	MediaType string `json:"mediaType,omitempty"`

	// Operation is extract (unpack the layer, the default) or copy (store
	// the compressed layer as it is).
	// +kubebuilder:validation:Enum=extract;copy
	// +optional
	Operation string `json:"operation,omitempty"`
}

// OCIRepositoryStatus is the observed state of an OCIRepository.
type OCIRepositoryStatus struct {
	// ObservedGeneration is the last generation of the object that was
	// reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions of the OCIRepository.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// URL is a stable download link to the latest artifact.
	// +optional
	URL string `json:"url,omitempty"`

	// Artifact is the output of the last successful reconciliation; its
	// metadata holds the OCI annotations.
	// +optional
	Artifact *meta.Artifact `json:"artifact,omitempty"`

	// ObservedIgnore is the ignore value used to build the artifact.
	// +optional
	ObservedIgnore *string `json:"observedIgnore,omitempty"`

	// ObservedLayerSelector is the layer selector used to build the
	// artifact.
	// +optional
	ObservedLayerSelector *OCILayerSelector `json:"observedLayerSelector,omitempty"`

	meta.ReconcileRequestStatus `json:",inline"`
}

// GetLayerMediaType returns the media type of the layer selector, or ""
// when there is none.
func (in *OCIRepository) GetLayerMediaType() string {
	if in.Spec.LayerSelector == nil {
		return ""
	}
	return in.Spec.LayerSelector.MediaType
}

// GetLayerOperation returns the layer operation, extract by default.
func (in *OCIRepository) GetLayerOperation() string {
	if in.Spec.LayerSelector == nil || in.Spec.LayerSelector.Operation == "" {
		return OCILayerExtract
	}
	return in.Spec.LayerSelector.Operation
}

// GetConditions returns the status conditions.
func (in *OCIRepository) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *OCIRepository) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns spec.interval.
func (in *OCIRepository) GetRequeueAfter() time.Duration {
	return in.Spec.Interval.Duration
}

// GetTimeout returns spec.timeout, or 60s when it is not set.
func (in *OCIRepository) GetTimeout() time.Duration {
	if in.Spec.Timeout == nil || in.Spec.Timeout.Duration <= 0 {
		return DefaultOCITimeout
	}
	return in.Spec.Timeout.Duration
}

// GetObservedGeneration returns status.observedGeneration.
func (in *OCIRepository) GetObservedGeneration() int64 {
	return in.Status.ObservedGeneration
}

// SetObservedGeneration sets status.observedGeneration.
func (in *OCIRepository) SetObservedGeneration(g int64) {
	in.Status.ObservedGeneration = g
}

// IsSuspended returns spec.suspend.
func (in *OCIRepository) IsSuspended() bool {
	return in.Spec.Suspend
}

// GetArtifact returns status.artifact.
func (in *OCIRepository) GetArtifact() *meta.Artifact {
	return in.Status.Artifact
}

// GetLastHandledReconcileRequest returns status.lastHandledReconcileAt.
func (in *OCIRepository) GetLastHandledReconcileRequest() string {
	return in.Status.GetLastHandledReconcileRequest()
}

// SetLastHandledReconcileRequest sets status.lastHandledReconcileAt.
func (in *OCIRepository) SetLastHandledReconcileRequest(token string) {
	in.Status.SetLastHandledReconcileRequest(token)
}

// OCIRepository produces an artifact from an OCI artifact in a container
// registry.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:shortName=ocirepo,categories=all;fluxcd;fluxcd-sources
// +kubebuilder:printcolumn:name="URL",type="string",JSONPath=".spec.url"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type OCIRepository struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state.
	Spec OCIRepositorySpec `json:"spec,omitempty"`

	// Status is the observed state.
	// +kubebuilder:default={"observedGeneration":-1}
	Status OCIRepositoryStatus `json:"status,omitempty"`
}

// OCIRepositoryList is a list of OCIRepository objects.
// +kubebuilder:object:root=true
type OCIRepositoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the OCIRepositories.
	Items []OCIRepository `json:"items"`
}

func init() {
	SchemeBuilder.Register(&OCIRepository{}, &OCIRepositoryList{})
}
