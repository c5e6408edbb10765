package notifier

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// azureEventHub sends the event JSON to an Event Hub through the Event
// Hubs REST API (POST https://{namespace}/{hub}/messages). As in Flux the
// address is either a SAS connection string (Endpoint=sb://…;
// SharedAccessKeyName=…;SharedAccessKey=…;EntityPath=<hub>), or the Event
// Hub's name with the channel naming its namespace; the latter
// authenticates with the Secret's `token` (an Entra JWT) or, without it,
// the controller's or spec.serviceAccountName's Azure identity
// (Config.CloudToken).
type azureEventHub struct {
	c    *client
	url  string
	auth func(ctx context.Context) (string, error)
}

const eventHubsAPI = "/messages?timeout=60&api-version=2014-01"

func newAzureEventHub(cfg Config) (Notifier, error) {
	c := newHTTP(cfg)
	if cfg.CloudClient != nil {
		c.http = cfg.CloudClient
	}
	if strings.Contains(cfg.Address, "SharedAccessKey") {
		if cfg.Token != "" || cfg.CloudIdentity != "" {
			return nil, errors.New("azureeventhub provider: a SAS connection string cannot be combined with a `token` or a workload identity")
		}
		resource, sign, err := parseEventHubsConnectionString(cfg.Address)
		if err != nil {
			return nil, err
		}
		return &azureEventHub{c: c, url: resource + eventHubsAPI, auth: func(context.Context) (string, error) {
			return sign(time.Now().Add(time.Hour)), nil
		}}, nil
	}
	if cfg.Address == "" || strings.ContainsAny(cfg.Address, "/:;") {
		return nil, errors.New("azureeventhub provider: the address must be a SAS connection string or the Event Hub's name")
	}
	if cfg.Channel == "" || strings.ContainsAny(cfg.Channel, "/:") {
		return nil, errors.New("azureeventhub provider: with an Event Hub name as address the channel must name its namespace")
	}
	e := &azureEventHub{c: c, url: "https://" + eventHubsNamespaceHost(cfg.Channel) + "/" + url.PathEscape(cfg.Address) + eventHubsAPI}
	switch {
	case cfg.Token != "" && cfg.CloudIdentity != "":
		return nil, fmt.Errorf("azureeventhub provider: the Secret's `token` cannot be combined with %s", cfg.CloudIdentity)
	case cfg.Token != "":
		e.auth = func(context.Context) (string, error) { return "Bearer " + cfg.Token, nil }
	case cfg.CloudToken != nil:
		e.auth = func(ctx context.Context) (string, error) {
			tok, err := cfg.CloudToken(ctx)
			return "Bearer " + tok, err
		}
	default:
		return nil, errors.New("azureeventhub provider: no credentials (a SAS connection string, a `token`, or an Azure identity)")
	}
	return e, nil
}

// eventHubsNamespaceHost completes a namespace name with the Service Bus
// domain of the cloud AZURE_AUTHORITY_HOST names, as Flux does.
func eventHubsNamespaceHost(ns string) string {
	if strings.Contains(ns, ".servicebus.") {
		return ns
	}
	authority := os.Getenv("AZURE_AUTHORITY_HOST")
	switch {
	case strings.Contains(authority, "chinacloudapi.cn"):
		return ns + ".servicebus.chinacloudapi.cn"
	case strings.Contains(authority, "microsoftonline.us"):
		return ns + ".servicebus.usgovcloudapi.net"
	}
	return ns + ".servicebus.windows.net"
}

// parseEventHubsConnectionString returns the Event Hub's https URL and a
// signer of SharedAccessSignature headers valid until a given time.
func parseEventHubsConnectionString(s string) (string, func(time.Time) string, error) {
	fields := map[string]string{}
	for part := range strings.SplitSeq(s, ";") {
		if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok {
			fields[strings.ToLower(k)] = v
		}
	}
	// The connection string holds the key, so errors name fields only.
	u, err := url.Parse(fields["endpoint"])
	if err != nil || u.Host == "" || u.Scheme != "sb" {
		return "", nil, errors.New("azureeventhub provider: the connection string's Endpoint is not sb://<namespace>/")
	}
	name, key, hub := fields["sharedaccesskeyname"], fields["sharedaccesskey"], fields["entitypath"]
	if name == "" || key == "" || hub == "" {
		return "", nil, errors.New("azureeventhub provider: the connection string needs SharedAccessKeyName, SharedAccessKey and EntityPath")
	}
	resource := "https://" + u.Host + "/" + hub
	return resource, func(expiry time.Time) string {
		se := strconv.FormatInt(expiry.Unix(), 10)
		mac := hmac.New(sha256.New, []byte(key))
		mac.Write([]byte(url.QueryEscape(resource) + "\n" + se))
		sig := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		return "SharedAccessSignature sr=" + url.QueryEscape(resource) + "&sig=" + url.QueryEscape(sig) + "&se=" + se + "&skn=" + url.QueryEscape(name)
	}, nil
}

func (e *azureEventHub) Post(ctx context.Context, ev *eventv1.Event) error {
	// A commit status update is for Git hosts, not event streams (as Flux).
	if ev.HasMetadata(eventv1.MetaCommitStatusKey, eventv1.MetaCommitStatusUpdateValue) {
		return nil
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encoding the event: %w", err)
	}
	auth, err := e.auth(ctx)
	if err != nil {
		return fmt.Errorf("azureeventhub provider: %w", err)
	}
	return e.c.do(ctx, request{method: http.MethodPost, url: e.url, body: body, headers: map[string]string{
		"Authorization": auth, "Content-Type": "application/atom+xml;type=entry;charset=utf-8"}})
}
