package v1

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ReceiverKind is the kind name of Receiver.
const ReceiverKind string = "Receiver"

// ReceiverWebhookPath is the prefix of every Receiver's webhook path.
const ReceiverWebhookPath string = "/hook/"

// DefaultReceiverInterval is the reconcile interval when spec.interval is unset.
const DefaultReceiverInterval = 10 * time.Minute

// DefaultOIDCAudience is the audience a generic-oidc token must carry when
// an OIDC provider sets none.
const DefaultOIDCAudience string = "notification-controller"

// Receiver types accepted in spec.type.
const (
	// GenericReceiver accepts any request to the secret path.
	GenericReceiver string = "generic"
	// GenericHMACReceiver checks an X-Signature HMAC of the body.
	GenericHMACReceiver string = "generic-hmac"
	// GenericOIDCReceiver checks a bearer JWT against spec.oidcProviders.
	GenericOIDCReceiver string = "generic-oidc"
	// GitHubReceiver checks GitHub's X-Hub-Signature(-256).
	GitHubReceiver string = "github"
	// GitLabReceiver checks GitLab's X-Gitlab-Token.
	GitLabReceiver string = "gitlab"
	// BitbucketReceiver checks Bitbucket Server's HMAC signature.
	BitbucketReceiver string = "bitbucket"
	// HarborReceiver checks Harbor's Authorization header.
	HarborReceiver string = "harbor"
	// DockerHubReceiver parses Docker Hub payloads.
	DockerHubReceiver string = "dockerhub"
	// QuayReceiver parses Quay payloads.
	QuayReceiver string = "quay"
	// GCRReceiver checks Google Pub/Sub push requests and their OIDC token.
	GCRReceiver string = "gcr"
	// NexusReceiver checks Nexus's X-Nexus-Webhook-Signature.
	NexusReceiver string = "nexus"
	// ACRReceiver parses Azure Container Registry payloads.
	ACRReceiver string = "acr"
	// CDEventsReceiver accepts CDEvents, filtered by Ce-Type.
	CDEventsReceiver string = "cdevents"
)

// ReceiverSpec says which webhooks are accepted, how they are checked, and
// which objects they make reconcile.
// +kubebuilder:validation:XValidation:rule="self.type != 'generic-oidc' || (has(self.oidcProviders) && size(self.oidcProviders) > 0)",message="generic-oidc receivers must define at least one oidcProvider"
// +kubebuilder:validation:XValidation:rule="self.type == 'generic-oidc' || !has(self.oidcProviders) || size(self.oidcProviders) == 0",message="oidcProviders can only be set when type is generic-oidc"
// +kubebuilder:validation:XValidation:rule="self.type == 'generic-oidc' || has(self.secretRef)",message="secretRef is required when type is not generic-oidc"
type ReceiverSpec struct {
	// Type is the webhook sender; it selects how requests are verified and
	// parsed.
	// +kubebuilder:validation:Enum=generic;generic-hmac;generic-oidc;github;gitlab;bitbucket;harbor;dockerhub;quay;gcr;nexus;acr;cdevents
	// +required
	Type string `json:"type"`

	// Interval is how often the Receiver is reconciled with its Secret.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +kubebuilder:default:="10m"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// Events lists the event types acted upon, e.g. `push` for GitHub or
	// `Push Hook` for GitLab; empty means all.
	// +optional
	Events []string `json:"events,omitempty"`

	// Resources are the objects asked to reconcile when a valid webhook
	// arrives.
	// +required
	Resources []CrossNamespaceObjectReference `json:"resources"`

	// ResourceFilter is a CEL expression returning a bool, evaluated for
	// each selected object (`res`) with the request (`req`) and, for
	// generic-oidc, the token claims (`claims`); false skips the object.
	// An invalid expression stalls the Receiver.
	// +optional
	ResourceFilter string `json:"resourceFilter,omitempty"`

	// SecretRef names the Secret holding the `token` key (and for gcr also
	// `email` and `audience`). Required for every type but generic-oidc.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// OIDCProviders are the issuers trusted by a generic-oidc Receiver.
	// +listType=map
	// +listMapKey=issuerURL
	// +optional
	OIDCProviders []OIDCProvider `json:"oidcProviders,omitempty"`

	// Suspend stops handling webhooks while true.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// OIDCProvider is an OIDC issuer trusted by a generic-oidc Receiver.
type OIDCProvider struct {
	// IssuerURL is the issuer used for discovery; it must equal the token's
	// `iss` claim.
	// +kubebuilder:validation:Pattern="^https?://"
	// +required
	IssuerURL string `json:"issuerURL"`

	// Audience is the expected `aud` claim; defaults to
	// DefaultOIDCAudience.
	// +optional
	Audience string `json:"audience,omitempty"`

	// Variables are named CEL expressions over `claims`, evaluated in order
	// and available to later ones and to validations as `vars.<name>`.
	// +optional
	Variables []OIDCVariable `json:"variables,omitempty"`

	// Validations are CEL expressions that must all return true for a
	// request to be accepted.
	// +kubebuilder:validation:MinItems=1
	// +required
	Validations []OIDCValidation `json:"validations"`
}

// GetAudience returns Audience, or DefaultOIDCAudience when it is empty.
func (in *OIDCProvider) GetAudience() string {
	if in.Audience != "" {
		return in.Audience
	}
	return DefaultOIDCAudience
}

// OIDCVariable is a named CEL expression.
type OIDCVariable struct {
	// Name is the variable name, a CEL identifier.
	// +required
	Name string `json:"name"`

	// Expression computes the value.
	// +required
	Expression string `json:"expression"`
}

// OIDCValidation is a CEL check on an OIDC token.
type OIDCValidation struct {
	// Expression must return true for the request to be accepted.
	// +required
	Expression string `json:"expression"`

	// Message is returned to the caller when the expression is false.
	// +required
	Message string `json:"message"`
}

// ReceiverStatus is the observed state of a Receiver.
type ReceiverStatus struct {
	meta.ReconcileRequestStatus `json:",inline"`

	// Conditions are the kstatus conditions of the object.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// WebhookPath is the path the Receiver listens on,
	// `/hook/<sha256(token+name+namespace)>`.
	// +optional
	WebhookPath string `json:"webhookPath,omitempty"`

	// ObservedGeneration is the generation last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// +kubebuilder:storageversion
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=all;fluxcd;fluxcd-notifications
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description=""
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status",description=""
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message",description=""
// +kubebuilder:metadata:annotations="kustomize.toolkit.fluxcd.io/substitute=disabled"

// Receiver exposes a webhook that, when called by a trusted sender, asks
// the selected objects to reconcile at once.
type Receiver struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ReceiverSpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status ReceiverStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ReceiverList is a list of Receivers.
type ReceiverList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Receiver `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Receiver{}, &ReceiverList{})
}

// GetWebhookPath returns `/hook/` followed by the hex SHA-256 of token,
// name and namespace concatenated. generic-oidc Receivers pass an empty token.
func (in *Receiver) GetWebhookPath(token string) string {
	sum := sha256.Sum256([]byte(token + in.GetName() + in.GetNamespace()))
	return ReceiverWebhookPath + hex.EncodeToString(sum[:])
}

// GetInterval returns spec.interval, or DefaultReceiverInterval when unset.
func (in *Receiver) GetInterval() time.Duration {
	if in.Spec.Interval != nil && in.Spec.Interval.Duration > 0 {
		return in.Spec.Interval.Duration
	}
	return DefaultReceiverInterval
}

// GetConditions returns status.conditions.
func (in *Receiver) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces status.conditions.
func (in *Receiver) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns GetInterval.
func (in *Receiver) GetRequeueAfter() time.Duration {
	return in.GetInterval()
}

// GetObservedGeneration returns status.observedGeneration.
func (in *Receiver) GetObservedGeneration() int64 {
	return in.Status.ObservedGeneration
}

// SetObservedGeneration sets status.observedGeneration.
func (in *Receiver) SetObservedGeneration(generation int64) {
	in.Status.ObservedGeneration = generation
}

// IsSuspended returns spec.suspend.
func (in *Receiver) IsSuspended() bool {
	return in.Spec.Suspend
}

// GetLastHandledReconcileRequest returns status.lastHandledReconcileAt.
func (in *Receiver) GetLastHandledReconcileRequest() string {
	return in.Status.GetLastHandledReconcileRequest()
}

// SetLastHandledReconcileRequest sets status.lastHandledReconcileAt.
func (in *Receiver) SetLastHandledReconcileRequest(token string) {
	in.Status.SetLastHandledReconcileRequest(token)
}
