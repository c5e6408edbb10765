package notifier

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// pubSubBase is Google Pub/Sub's REST endpoint.
const pubSubBase = "https://pubsub.googleapis.com/v1/"

// pubSubScope is the OAuth2 scope a service account key is exchanged for.
const pubSubScope = "https://www.googleapis.com/auth/pubsub"

// googlePubSub publishes the event JSON to a Pub/Sub topic through the
// REST API (POST …/v1/projects/{project}/topics/{topic}:publish). As in
// Flux: the address is the GCP project ID, the channel the topic ID, the
// Secret's `headers` become message attributes, and the Secret's `token`,
// when set, is a service account JSON key; without it the controller's or
// spec.serviceAccountName's GCP identity is used (Config.CloudToken).
type googlePubSub struct {
	c     *client
	url   string
	attrs map[string]string
	token func(ctx context.Context) (string, error)
}

func newGooglePubSub(cfg Config) (Notifier, error) {
	if cfg.Address == "" {
		return nil, errors.New("googlepubsub provider: the address must be the GCP project ID")
	}
	if cfg.Channel == "" {
		return nil, errors.New("googlepubsub provider: the channel must be the Pub/Sub topic ID")
	}
	// Headers are message attributes here, not HTTP headers.
	attrs := cfg.Headers
	cfg.Headers = nil
	c := newHTTP(cfg)
	if cfg.CloudClient != nil {
		c.http = cfg.CloudClient
	}
	p := &googlePubSub{c: c, attrs: attrs,
		url: pubSubBase + "projects/" + url.PathEscape(cfg.Address) + "/topics/" + url.PathEscape(cfg.Channel) + ":publish"}
	// As in Flux, the key takes precedence over any cloud identity.
	switch {
	case cfg.Token != "":
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, c.http)
		creds, err := google.CredentialsFromJSONWithType(ctx, []byte(cfg.Token), google.ServiceAccount, pubSubScope)
		if err != nil || !serviceAccountKeyParses([]byte(cfg.Token)) {
			// The key is not echoed.
			return nil, errors.New("googlepubsub provider: the Secret's `token` is not a GCP service account JSON key")
		}
		p.token = func(context.Context) (string, error) {
			tok, err := creds.TokenSource.Token()
			if err != nil {
				return "", keyExchangeError(err)
			}
			return tok.AccessToken, nil
		}
	case cfg.CloudToken != nil:
		p.token = cfg.CloudToken
	default:
		return nil, errors.New("googlepubsub provider: no credentials (a service account key in the Secret's `token`, or a GCP identity)")
	}
	return p, nil
}

func (p *googlePubSub) Post(ctx context.Context, ev *eventv1.Event) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encoding the event: %w", err)
	}
	tok, err := p.token(ctx)
	if err != nil {
		return fmt.Errorf("googlepubsub provider: %w", err)
	}
	msg := map[string]any{"data": data}
	if len(p.attrs) > 0 {
		msg["attributes"] = p.attrs
	}
	return p.c.postJSON(ctx, p.url, map[string]any{"messages": []any{msg}}, map[string]string{"Authorization": "Bearer " + tok})
}

// serviceAccountKeyParses reports whether the key file's private_key is
// a PEM RSA key: the Google library reads it only when a token is first
// asked for, and a broken key is the Provider's configuration, not a
// delivery failure.
func serviceAccountKeyParses(keyFile []byte) bool {
	var f struct {
		PrivateKey string `json:"private_key"`
	}
	if json.Unmarshal(keyFile, &f) != nil {
		return false
	}
	block, _ := pem.Decode([]byte(f.PrivateKey))
	if block == nil {
		return false
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		return true
	}
	_, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	return err == nil
}

// keyExchangeError says why the token endpoint did not take the key's
// assertion, in the endpoint's OAuth2 error words (RFC 6749 5.2: error
// and error_description), which never quote the key.
func keyExchangeError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return fmt.Errorf("exchanging the service account key for an access token failed: %w", redact(err))
	}
	code, description := re.ErrorCode, re.ErrorDescription
	if code == "" {
		// x/oauth2's JWT-bearer flow leaves the error body unparsed.
		var body struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(re.Body, &body) == nil {
			code, description = body.Error, body.Description
		}
	}
	if code == "" && re.Response != nil {
		code = re.Response.Status
	}
	return fmt.Errorf("the token endpoint refused the service account key: %s", strings.TrimSuffix(code+": "+description, ": "))
}
