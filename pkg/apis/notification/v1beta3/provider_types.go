package v1beta3

import (
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ProviderKind is the kind name of Provider.
const ProviderKind string = "Provider"

// DefaultProviderTimeout bounds one notification when spec.timeout is unset.
const DefaultProviderTimeout = 15 * time.Second

// Provider types accepted in spec.type.
const (
	// SlackProvider posts to a Slack webhook or the Slack API.
	SlackProvider string = "slack"
	// DiscordProvider posts to a Discord webhook.
	DiscordProvider string = "discord"
	// MSTeamsProvider posts to a Microsoft Teams webhook or workflow.
	MSTeamsProvider string = "msteams"
	// RocketProvider posts to a Rocket.Chat webhook.
	RocketProvider string = "rocket"
	// GoogleChatProvider posts to a Google Chat webhook.
	GoogleChatProvider string = "googlechat"
	// WebexProvider posts to a Webex room.
	WebexProvider string = "webex"
	// TelegramProvider posts to a Telegram chat.
	TelegramProvider string = "telegram"
	// LarkProvider posts to a Lark webhook.
	LarkProvider string = "lark"
	// MatrixProvider posts to a Matrix room.
	MatrixProvider string = "matrix"
	// ZulipProvider posts to a Zulip stream.
	ZulipProvider string = "zulip"
	// ZoomProvider posts to a Zoom chat webhook.
	ZoomProvider string = "zoom"
	// GenericProvider POSTs the event JSON to the address.
	GenericProvider string = "generic"
	// GenericHMACProvider POSTs the event JSON with an HMAC signature header.
	GenericHMACProvider string = "generic-hmac"
	// OTelProvider exports events as OpenTelemetry traces.
	OTelProvider string = "otel"
	// NATSProvider publishes events to a NATS subject.
	NATSProvider string = "nats"
	// GooglePubSubProvider publishes events to a Google Pub/Sub topic.
	GooglePubSubProvider string = "googlepubsub"
	// AzureEventHubProvider sends events to an Azure Event Hub.
	AzureEventHubProvider string = "azureeventhub"
	// SentryProvider reports events to Sentry.
	SentryProvider string = "sentry"
	// OpsgenieProvider creates Opsgenie alerts.
	OpsgenieProvider string = "opsgenie"
	// AlertManagerProvider posts alerts to Prometheus Alertmanager.
	AlertManagerProvider string = "alertmanager"
	// GrafanaProvider creates Grafana annotations.
	GrafanaProvider string = "grafana"
	// PagerDutyProvider sends PagerDuty events.
	PagerDutyProvider string = "pagerduty"
	// DataDogProvider sends Datadog events.
	DataDogProvider string = "datadog"
	// IncidentIOProvider sends incident.io alert events.
	IncidentIOProvider string = "incident.io"
	// GitHubProvider sets GitHub commit statuses.
	GitHubProvider string = "github"
	// GitLabProvider sets GitLab commit statuses.
	GitLabProvider string = "gitlab"
	// GiteaProvider sets Gitea commit statuses.
	GiteaProvider string = "gitea"
	// BitbucketProvider sets Bitbucket Cloud commit statuses.
	BitbucketProvider string = "bitbucket"
	// BitbucketServerProvider sets Bitbucket Server/Data Center commit statuses.
	BitbucketServerProvider string = "bitbucketserver"
	// AzureDevOpsProvider sets Azure DevOps commit statuses.
	AzureDevOpsProvider string = "azuredevops"
	// GitHubDispatchProvider sends GitHub repository_dispatch events.
	GitHubDispatchProvider string = "githubdispatch"
	// GitHubPullRequestCommentProvider comments on GitHub pull requests.
	GitHubPullRequestCommentProvider string = "githubpullrequestcomment"
	// GitLabMergeRequestCommentProvider comments on GitLab merge requests.
	GitLabMergeRequestCommentProvider string = "gitlabmergerequestcomment"
	// GiteaPullRequestCommentProvider comments on Gitea pull requests.
	GiteaPullRequestCommentProvider string = "giteapullrequestcomment"
)

// ProviderSpec says where and how notifications are sent.
// +kubebuilder:validation:XValidation:rule="self.type == 'github' || self.type == 'gitlab' || self.type == 'gitea' || self.type == 'bitbucketserver' || self.type == 'bitbucket' || self.type == 'azuredevops' || !has(self.commitStatusExpr)",message="spec.commitStatusExpr is only supported for the 'github', 'gitlab', 'gitea', 'bitbucketserver', 'bitbucket', 'azuredevops' provider types"
type ProviderSpec struct {
	// Type selects the notification service.
	// +kubebuilder:validation:Enum=slack;discord;msteams;rocket;googlechat;webex;telegram;lark;matrix;zulip;zoom;generic;generic-hmac;otel;nats;googlepubsub;azureeventhub;sentry;opsgenie;alertmanager;grafana;pagerduty;datadog;incident.io;github;gitlab;gitea;bitbucket;bitbucketserver;azuredevops;githubdispatch;githubpullrequestcomment;gitlabmergerequestcomment;giteapullrequestcomment
	// +required
	Type string `json:"type"`

	// Interval is not used.
	// Deprecated: kept so that older manifests stay valid.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// Channel is the destination channel, room or topic, where the service
	// has one.
	// +kubebuilder:validation:MaxLength:=2048
	// +optional
	Channel string `json:"channel,omitempty"`

	// Username is the name notifications are posted under, where the
	// service allows it.
	// +kubebuilder:validation:MaxLength:=2048
	// +optional
	Username string `json:"username,omitempty"`

	// Address is the destination; its meaning depends on the type (an
	// HTTP(S) URL for webhooks, a repository URL for commit statuses, a
	// server or topic for transports). The Secret's `address` key overrides it.
	// +kubebuilder:validation:MaxLength:=2048
	// +optional
	Address string `json:"address,omitempty"`

	// Timeout bounds one notification; defaults to 15s.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Proxy is the HTTP(S) address of a proxy.
	// Deprecated: use ProxySecretRef.
	// +kubebuilder:validation:Pattern="^(http|https)://.*$"
	// +kubebuilder:validation:MaxLength:=2048
	// +optional
	Proxy string `json:"proxy,omitempty"`

	// ProxySecretRef names a Secret with the proxy: key `address`, and
	// optionally `username` and `password`.
	// +optional
	ProxySecretRef *meta.LocalObjectReference `json:"proxySecretRef,omitempty"`

	// SecretRef names a Secret with the credentials; recognised keys are
	// `address`, `token`, `username`, `password`, `headers` and `proxy`.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// ServiceAccountName names a ServiceAccount, in the Provider's
	// namespace, whose workload identity is used to authenticate to cloud
	// services (azureeventhub, azuredevops, googlepubsub); it needs the
	// ObjectLevelWorkloadIdentity feature gate. It cannot be combined with
	// static credentials.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// CertSecretRef names a Secret with TLS material: `ca.crt` to trust a
	// private CA, and/or `tls.crt` plus `tls.key` for a client certificate.
	// +optional
	CertSecretRef *meta.LocalObjectReference `json:"certSecretRef,omitempty"`

	// Suspend stops sending notifications through this Provider while true.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// CommitStatusExpr is a CEL expression over `event`, `provider` and
	// `alert` giving the commit status identifier; only for commit status
	// provider types.
	// +optional
	CommitStatusExpr string `json:"commitStatusExpr,omitempty"`
}

// +kubebuilder:storageversion
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories=all;fluxcd;fluxcd-notifications
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description=""
// +kubebuilder:metadata:annotations="kustomize.toolkit.fluxcd.io/substitute=disabled"

// Provider is a destination for notifications: a chat service, a webhook,
// a Git commit status API, an event bus.
type Provider struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ProviderSpec `json:"spec,omitempty"`
}

// +kubebuilder:object:root=true

// ProviderList is a list of Providers.
type ProviderList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Provider `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Provider{}, &ProviderList{})
}

// IsSuspended returns spec.suspend.
func (in *Provider) IsSuspended() bool {
	return in.Spec.Suspend
}

// GetTimeout returns spec.timeout, or DefaultProviderTimeout when unset.
func (in *Provider) GetTimeout() time.Duration {
	if in.Spec.Timeout != nil && in.Spec.Timeout.Duration > 0 {
		return in.Spec.Timeout.Duration
	}
	return DefaultProviderTimeout
}
