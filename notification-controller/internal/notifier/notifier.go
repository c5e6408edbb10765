// Package notifier sends events to the services a Provider names: chat
// services, generic webhooks, incident and observability services (incl.
// OTLP traces), NATS, Google Pub/Sub, Azure Event Hubs, Git hosting commit statuses and pull request
// comments. One file per provider type; http.go holds the shared transport
// with bounded retries.
package notifier

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"

	notificationv1 "gotk.dev/pkg/apis/notification/v1beta3"
)

// Notifier sends one event to a service.
type Notifier interface {
	// Post delivers the event; it retries what is worth retrying and returns
	// the last error, which never contains the Provider's secrets.
	Post(ctx context.Context, ev *eventv1.Event) error
}

// Config is a Provider resolved with its Secrets.
type Config struct {
	// Type is spec.type.
	Type string
	// Address is the destination (the Secret's `address` wins over spec.address).
	Address string
	// Channel and Username are spec.channel and spec.username.
	Channel, Username string
	// Token is the Secret's `token`.
	Token string
	// BasicUser and BasicPassword are the Secret's `username` and `password`.
	BasicUser, BasicPassword string
	// Headers are extra HTTP headers from the Secret's `headers`.
	Headers map[string]string
	// Proxy is the proxy URL, nil for none.
	Proxy *url.URL
	// TLS holds the CA and client certificate from certSecretRef, nil for defaults.
	TLS *tls.Config
	// Timeout bounds one HTTP attempt.
	Timeout time.Duration
	// Retry bounds the attempts; zero means DefaultRetry.
	Retry Retry
	// ProviderUID distinguishes commit statuses of different Providers.
	ProviderUID string
	// CloudToken, when set, returns a bearer token of the cloud identity
	// (the controller's, or spec.serviceAccountName's workload identity)
	// for the cloud types (googlepubsub, azureeventhub, azuredevops) that
	// have no static credentials.
	CloudToken func(ctx context.Context) (string, error)
	// CloudIdentity names the workload identity CloudToken uses
	// ("ServiceAccount <ns>/<name>"), empty for the controller's own; a
	// static credential cannot be combined with it.
	CloudIdentity string
	// CloudClient, when set, carries the requests to the cloud services
	// (Pub/Sub, Event Hubs) instead of the Provider's own transport.
	CloudClient *http.Client
}

// ErrNotSupported is returned by New for provider types of the API that
// are not implemented yet.
var ErrNotSupported = errors.New("not supported yet")

// New returns the Notifier for cfg.Type.
func New(cfg Config) (Notifier, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = notificationv1.DefaultProviderTimeout
	}
	if cfg.Retry.Attempts <= 0 {
		cfg.Retry = DefaultRetry
	}
	h := newHTTP(cfg)
	switch cfg.Type {
	case notificationv1.SlackProvider:
		return newSlack(cfg, h)
	case notificationv1.RocketProvider:
		return newRocket(cfg, h)
	case notificationv1.DiscordProvider:
		return newDiscord(cfg, h)
	case notificationv1.MSTeamsProvider:
		return newMSTeams(cfg, h)
	case notificationv1.GoogleChatProvider:
		return newGoogleChat(cfg, h)
	case notificationv1.WebexProvider:
		return newWebex(cfg, h)
	case notificationv1.TelegramProvider:
		return newTelegram(cfg, h)
	case notificationv1.MatrixProvider:
		return newMatrix(cfg, h)
	case notificationv1.GenericProvider:
		return newGeneric(cfg, h, false)
	case notificationv1.GenericHMACProvider:
		return newGeneric(cfg, h, true)
	case notificationv1.AlertManagerProvider:
		return newAlertmanager(cfg, h)
	case notificationv1.GitHubProvider:
		return newGitHub(cfg, h)
	case notificationv1.GitLabProvider:
		return newGitLab(cfg, h)
	case notificationv1.GiteaProvider:
		return newGitea(cfg, h)
	case notificationv1.BitbucketProvider:
		return newBitbucket(cfg, h)
	case notificationv1.GitHubDispatchProvider:
		return newGitHubDispatch(cfg, h)
	case notificationv1.LarkProvider:
		return newLark(cfg, h)
	case notificationv1.ZulipProvider:
		return newZulip(cfg, h)
	case notificationv1.ZoomProvider:
		return newZoom(cfg, h)
	case notificationv1.OpsgenieProvider:
		return newOpsgenie(cfg, h)
	case notificationv1.PagerDutyProvider:
		return newPagerDuty(cfg, h)
	case notificationv1.DataDogProvider:
		return newDatadog(cfg, h)
	case notificationv1.GrafanaProvider:
		return newGrafana(cfg, h)
	case notificationv1.IncidentIOProvider:
		return newIncidentIO(cfg, h)
	case notificationv1.SentryProvider:
		return newSentry(cfg, h)
	case notificationv1.BitbucketServerProvider:
		return newBitbucketServer(cfg, h)
	case notificationv1.AzureDevOpsProvider:
		return newAzureDevOps(cfg, h)
	case notificationv1.GitHubPullRequestCommentProvider:
		return newGitHubPRComment(cfg, h)
	case notificationv1.GitLabMergeRequestCommentProvider:
		return newGitLabMRComment(cfg, h)
	case notificationv1.GiteaPullRequestCommentProvider:
		return newGiteaPRComment(cfg, h)
	case notificationv1.NATSProvider:
		return newNATS(cfg)
	case notificationv1.OTelProvider:
		return newOTel(cfg, h)
	case notificationv1.GooglePubSubProvider:
		return newGooglePubSub(cfg)
	case notificationv1.AzureEventHubProvider:
		return newAzureEventHub(cfg)
	default:
		return nil, fmt.Errorf("provider type %q is %w", cfg.Type, ErrNotSupported)
	}
}

// IsCommitStatus reports whether the type sets Git commit statuses; those
// only want error events and the success events marked for them.
func IsCommitStatus(providerType string) bool {
	switch providerType {
	case notificationv1.GitHubProvider, notificationv1.GitLabProvider, notificationv1.GiteaProvider,
		notificationv1.BitbucketProvider, notificationv1.BitbucketServerProvider, notificationv1.AzureDevOpsProvider:
		return true
	}
	return false
}

func requireAddress(cfg Config) error {
	if cfg.Address == "" {
		return fmt.Errorf("%s provider: an address is required (spec.address or the Secret's `address`)", cfg.Type)
	}
	u, err := url.Parse(cfg.Address)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The address may hold a token, so it is not echoed.
		return fmt.Errorf("%s provider: the address is not an http(s) URL", cfg.Type)
	}
	return nil
}
