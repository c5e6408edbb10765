package v1

import (
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Object storage providers of a Bucket.
const (
	// BucketProviderGeneric is any S3-compatible storage.
	BucketProviderGeneric string = "generic"
	// BucketProviderAmazon is AWS S3.
	BucketProviderAmazon string = "aws"
	// BucketProviderGoogle is Google Cloud Storage.
	BucketProviderGoogle string = "gcp"
	// BucketProviderAzure is Azure Blob Storage.
	BucketProviderAzure string = "azure"
)

// Security Token Service providers of a Bucket.
const (
	// STSProviderAmazon is the AWS Security Token Service.
	STSProviderAmazon string = "aws"
	// STSProviderLDAP is an S3 STS that authenticates with LDAP (e.g. MinIO).
	STSProviderLDAP string = "ldap"
)

// DefaultBucketTimeout is used when spec.timeout is not set.
const DefaultBucketTimeout = 60 * time.Second

// BucketSpec is the desired state of a Bucket: which object storage bucket
// to download, and how.
// +kubebuilder:validation:XValidation:rule="self.provider == 'aws' || self.provider == 'generic' || !has(self.sts)",message="STS configuration is only supported for the 'aws' and 'generic' Bucket providers"
// +kubebuilder:validation:XValidation:rule="self.provider != 'aws' || !has(self.sts) || self.sts.provider == 'aws'",message="'aws' is the only supported STS provider for the 'aws' Bucket provider"
// +kubebuilder:validation:XValidation:rule="self.provider != 'generic' || !has(self.sts) || self.sts.provider == 'ldap'",message="'ldap' is the only supported STS provider for the 'generic' Bucket provider"
// +kubebuilder:validation:XValidation:rule="!has(self.sts) || self.sts.provider != 'aws' || !has(self.sts.secretRef)",message="spec.sts.secretRef is not required for the 'aws' STS provider"
// +kubebuilder:validation:XValidation:rule="!has(self.sts) || self.sts.provider != 'aws' || !has(self.sts.certSecretRef)",message="spec.sts.certSecretRef is not required for the 'aws' STS provider"
// +kubebuilder:validation:XValidation:rule="self.provider != 'generic' || !has(self.serviceAccountName)",message="ServiceAccountName is not supported for the 'generic' Bucket provider"
// +kubebuilder:validation:XValidation:rule="!has(self.secretRef) || !has(self.serviceAccountName)",message="cannot set both .spec.secretRef and .spec.serviceAccountName"
type BucketSpec struct {
	// Provider of the object storage; generic means any S3-compatible
	// service.
	// +kubebuilder:validation:Enum=generic;aws;gcp;azure
	// +kubebuilder:default:=generic
	// +optional
	Provider string `json:"provider,omitempty"`

	// BucketName is the name of the bucket.
	// +required
	BucketName string `json:"bucketName"`

	// Endpoint is the address of the object storage service.
	// +required
	Endpoint string `json:"endpoint"`

	// STS configures a Security Token Service to fetch temporary
	// credentials from; only for the aws and generic providers.
	// +optional
	STS *BucketSTSSpec `json:"sts,omitempty"`

	// Insecure allows a plain-HTTP endpoint.
	// +optional
	Insecure bool `json:"insecure,omitempty"`

	// Region of the endpoint the bucket is in.
	// +optional
	Region string `json:"region,omitempty"`

	// Prefix limits the download to keys starting with it (server-side
	// filtering).
	// +optional
	Prefix string `json:"prefix,omitempty"`

	// SecretRef names a Secret with the credentials, e.g. accesskey and
	// secretkey for S3.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// CertSecretRef names a Secret with a client certificate and key
	// (tls.crt, tls.key) and/or a CA certificate (ca.crt) for the endpoint,
	// for every provider (Flux documents it for the generic provider only).
	// +optional
	CertSecretRef *meta.LocalObjectReference `json:"certSecretRef,omitempty"`

	// ProxySecretRef names a Secret with the proxy address, username and
	// password to use for the endpoint.
	// +optional
	ProxySecretRef *meta.LocalObjectReference `json:"proxySecretRef,omitempty"`

	// ServiceAccountName is the ServiceAccount whose workload identity is
	// used to authenticate; not for the generic provider.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// Interval between checks of the bucket for changes.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +required
	Interval metav1.Duration `json:"interval"`

	// Timeout of fetch operations.
	// +kubebuilder:default="60s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Ignore replaces the default exclusion patterns, in .sourceignore
	// (gitignore) syntax.
	// +optional
	Ignore *string `json:"ignore,omitempty"`

	// Suspend stops reconciliation of this object while true.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// BucketSTSSpec configures the Security Token Service a Bucket gets
// temporary credentials from.
type BucketSTSSpec struct {
	// Provider of the Security Token Service.
	// +kubebuilder:validation:Enum=aws;ldap
	// +required
	Provider string `json:"provider"`

	// Endpoint is the HTTP(S) address of the Security Token Service.
	// +kubebuilder:validation:Pattern="^(http|https)://.*$"
	// +required
	Endpoint string `json:"endpoint"`

	// SecretRef names a Secret with the username and password for the STS;
	// ldap provider only.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// CertSecretRef names a Secret with a client certificate and key
	// (tls.crt, tls.key) and/or a CA certificate (ca.crt) for the STS; ldap
	// provider only.
	// +optional
	CertSecretRef *meta.LocalObjectReference `json:"certSecretRef,omitempty"`
}

// BucketStatus is the observed state of a Bucket.
type BucketStatus struct {
	// ObservedGeneration is the last generation of the object that was
	// reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions of the Bucket.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// URL is a stable download link to the latest artifact.
	// +optional
	URL string `json:"url,omitempty"`

	// Artifact is the output of the last successful reconciliation.
	// +optional
	Artifact *meta.Artifact `json:"artifact,omitempty"`

	// ObservedIgnore is the ignore value used to build the artifact.
	// +optional
	ObservedIgnore *string `json:"observedIgnore,omitempty"`

	meta.ReconcileRequestStatus `json:",inline"`
}

// GetConditions returns the status conditions.
func (in *Bucket) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *Bucket) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns spec.interval.
func (in *Bucket) GetRequeueAfter() time.Duration {
	return in.Spec.Interval.Duration
}

// GetTimeout returns spec.timeout, or 60s when it is not set.
func (in *Bucket) GetTimeout() time.Duration {
	if in.Spec.Timeout == nil || in.Spec.Timeout.Duration <= 0 {
		return DefaultBucketTimeout
	}
	return in.Spec.Timeout.Duration
}

// GetObservedGeneration returns status.observedGeneration.
func (in *Bucket) GetObservedGeneration() int64 {
	return in.Status.ObservedGeneration
}

// SetObservedGeneration sets status.observedGeneration.
func (in *Bucket) SetObservedGeneration(g int64) {
	in.Status.ObservedGeneration = g
}

// IsSuspended returns spec.suspend.
func (in *Bucket) IsSuspended() bool {
	return in.Spec.Suspend
}

// GetArtifact returns status.artifact.
func (in *Bucket) GetArtifact() *meta.Artifact {
	return in.Status.Artifact
}

// GetLastHandledReconcileRequest returns status.lastHandledReconcileAt.
func (in *Bucket) GetLastHandledReconcileRequest() string {
	return in.Status.GetLastHandledReconcileRequest()
}

// SetLastHandledReconcileRequest sets status.lastHandledReconcileAt.
func (in *Bucket) SetLastHandledReconcileRequest(token string) {
	in.Status.SetLastHandledReconcileRequest(token)
}

// Bucket produces an artifact from the objects in an object storage bucket.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:categories=all;fluxcd;fluxcd-sources
// +kubebuilder:printcolumn:name="Endpoint",type="string",JSONPath=".spec.endpoint"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
type Bucket struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state.
	Spec BucketSpec `json:"spec,omitempty"`

	// Status is the observed state.
	// +kubebuilder:default={"observedGeneration":-1}
	Status BucketStatus `json:"status,omitempty"`
}

// BucketList is a list of Bucket objects.
// +kubebuilder:object:root=true
type BucketList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the Buckets.
	Items []Bucket `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Bucket{}, &BucketList{})
}
