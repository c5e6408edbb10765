package notifier

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	corev1 "k8s.io/api/core/v1"

	"gotk.dev/pkg/testserver"
)

const sha = "0123456789abcdef0123456789abcdef01234567"

func testEvent(severity string) *eventv1.Event {
	return &eventv1.Event{
		InvolvedObject: corev1.ObjectReference{Kind: "Kustomization", Name: "apps", Namespace: "flux-system",
			APIVersion: "kustomize.toolkit.fluxcd.io/v1"},
		Severity: severity, Message: "Health check failed after 30s", Reason: "HealthCheckFailed",
		Metadata:            map[string]string{"revision": "main@sha1:" + sha},
		ReportingController: "kustomize-controller",
	}
}

func fastRetry() Retry { return Retry{Attempts: 3, Min: time.Millisecond, Max: 5 * time.Millisecond} }

// TestProviders sends one error event through every implemented type to a
// sink and checks what the service would receive.
func TestProviders(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		path   string // path on the sink ("" = root)
		method string
		answer string // sink response body, "" for "ok"
		check  func(t *testing.T, r testserver.RecordedRequest)
	}{
		{name: "slack webhook", cfg: Config{Type: "slack", Channel: "deployments", Username: "gotk"}, path: "/services/T/B/X",
			check: func(t *testing.T, r testserver.RecordedRequest) {
				mustShape(t, testserver.SlackMessage(r.Body))
				var p slackPayload
				mustJSON(t, r, &p)
				a := p.Attachments[0]
				if p.Channel != "deployments" || a.Color != "danger" || a.Text != "Health check failed after 30s" ||
					a.AuthorName != "kustomization/apps.flux-system" || a.Fields[0].Title != "revision" {
					t.Fatalf("unexpected slack payload %s", r.Body)
				}
				if r.Header.Get("Authorization") != "" {
					t.Fatal("webhook mode must not send a token")
				}
			}},
		{name: "slack bot token", cfg: Config{Type: "slack", Channel: "C123", Token: "xoxb-secret"}, path: "/api/chat.postMessage",
			answer: `{"ok":true}`,
			check: func(t *testing.T, r testserver.RecordedRequest) {
				mustShape(t, testserver.SlackMessage(r.Body))
				if r.Header.Get("Authorization") != "Bearer xoxb-secret" {
					t.Fatalf("Authorization = %q", r.Header.Get("Authorization"))
				}
			}},
		{name: "rocket", cfg: Config{Type: "rocket"}, path: "/hooks/abc",
			check: func(t *testing.T, r testserver.RecordedRequest) { mustShape(t, testserver.SlackMessage(r.Body)) }},
		{name: "discord", cfg: Config{Type: "discord", Username: "gotk"}, path: "/api/webhooks/1/x",
			check: func(t *testing.T, r testserver.RecordedRequest) {
				mustShape(t, testserver.DiscordMessage(r.Body))
				if !strings.Contains(string(r.Body), `"color":10682880`) {
					t.Fatalf("discord error colour missing: %s", r.Body)
				}
			}},
		{name: "msteams workflow", cfg: Config{Type: "msteams"}, path: "/workflows/x",
			check: func(t *testing.T, r testserver.RecordedRequest) { mustShape(t, testserver.TeamsMessage(r.Body)) }},
		{name: "googlechat", cfg: Config{Type: "googlechat"}, path: "/v1/spaces/x/messages",
			check: func(t *testing.T, r testserver.RecordedRequest) {
				var p struct {
					Text    string           `json:"text"`
					CardsV2 []map[string]any `json:"cardsV2"`
				}
				mustJSON(t, r, &p)
				if !strings.Contains(p.Text, "Health check failed") || len(p.CardsV2) != 1 {
					t.Fatalf("googlechat payload %s", r.Body)
				}
			}},
		{name: "webex", cfg: Config{Type: "webex", Channel: "room-1", Token: "wx"}, path: "/v1/messages",
			check: func(t *testing.T, r testserver.RecordedRequest) {
				var p map[string]string
				mustJSON(t, r, &p)
				if p["roomId"] != "room-1" || !strings.Contains(p["markdown"], "Health check failed") || r.Header.Get("Authorization") != "Bearer wx" {
					t.Fatalf("webex request %s %v", r.Body, r.Header)
				}
			}},
		{name: "telegram", cfg: Config{Type: "telegram", Channel: "-100", Token: "123:abc"},
			check: func(t *testing.T, r testserver.RecordedRequest) {
				if r.Path != "/bot123:abc/sendMessage" {
					t.Fatalf("telegram path %s", r.Path)
				}
				var p map[string]any
				mustJSON(t, r, &p)
				if p["chat_id"] != "-100" || !strings.Contains(p["text"].(string), "Health check failed") {
					t.Fatalf("telegram payload %s", r.Body)
				}
			}},
		{name: "matrix", cfg: Config{Type: "matrix", Channel: "!room:example.org", Token: "mx"}, method: http.MethodPut,
			check: func(t *testing.T, r testserver.RecordedRequest) {
				if !strings.HasPrefix(r.Path, "/_matrix/client/v3/rooms/!room:example.org/send/m.room.message/") ||
					r.Header.Get("Authorization") != "Bearer mx" {
					t.Fatalf("matrix request %s %s", r.Path, r.Header)
				}
				var p map[string]string
				mustJSON(t, r, &p)
				if p["msgtype"] != "m.text" || !strings.Contains(p["body"], "Health check failed") {
					t.Fatalf("matrix payload %s", r.Body)
				}
			}},
		{name: "generic", cfg: Config{Type: "generic", Headers: map[string]string{"X-Team": "platform"}}, path: "/events",
			check: func(t *testing.T, r testserver.RecordedRequest) {
				var ev eventv1.Event
				mustJSON(t, r, &ev)
				if ev.InvolvedObject.Name != "apps" || r.Header.Get("gotk-component") != "kustomize-controller" ||
					r.Header.Get("X-Team") != "platform" || r.Header.Get("X-Signature") != "" {
					t.Fatalf("generic request %s %v", r.Body, r.Header)
				}
			}},
		{name: "generic-hmac", cfg: Config{Type: "generic-hmac", Token: "hmac-key"}, path: "/signed",
			check: func(t *testing.T, r testserver.RecordedRequest) {
				want := Sign([]byte("hmac-key"), r.Body)
				if !hmac.Equal([]byte(r.Header.Get("X-Signature")), []byte(want)) {
					t.Fatalf("X-Signature = %q, want %q", r.Header.Get("X-Signature"), want)
				}
			}},
		{name: "alertmanager", cfg: Config{Type: "alertmanager"}, path: "/api/v2/alerts",
			check: func(t *testing.T, r testserver.RecordedRequest) {
				var alerts []amAlert
				mustJSON(t, r, &alerts)
				l := alerts[0].Labels
				if l["alertname"] != "FluxKustomizationHealthCheckFailed" || l["severity"] != "error" || l["revision"] == "" ||
					alerts[0].Annotations["message"] == "" {
					t.Fatalf("alertmanager payload %s", r.Body)
				}
			}},
		{name: "github", cfg: Config{Type: "github", Token: "ghp", ProviderUID: "uid-1"}, path: "/org/app",
			check: func(t *testing.T, r testserver.RecordedRequest) {
				if r.Path != "/api/v3/repos/org/app/statuses/"+sha || r.Header.Get("Authorization") != "Bearer ghp" {
					t.Fatalf("github request %s %v", r.Path, r.Header)
				}
				var p map[string]string
				mustJSON(t, r, &p)
				if p["state"] != "failure" || !strings.HasPrefix(p["context"], "kustomization/apps/") {
					t.Fatalf("github payload %s", r.Body)
				}
			}},
		{name: "githubdispatch", cfg: Config{Type: "githubdispatch", Token: "ghp"}, path: "/org/app",
			check: func(t *testing.T, r testserver.RecordedRequest) {
				var p struct {
					EventType     string        `json:"event_type"`
					ClientPayload eventv1.Event `json:"client_payload"`
				}
				mustJSON(t, r, &p)
				if r.Path != "/api/v3/repos/org/app/dispatches" || p.EventType != "Kustomization/apps.flux-system" ||
					p.ClientPayload.Message == "" {
					t.Fatalf("githubdispatch request %s %s", r.Path, r.Body)
				}
			}},
		{name: "gitlab", cfg: Config{Type: "gitlab", Token: "glpat"}, path: "/group/sub/app.git",
			check: func(t *testing.T, r testserver.RecordedRequest) {
				if r.Path != "/api/v4/projects/group/sub/app/statuses/"+sha || r.Header.Get("PRIVATE-TOKEN") != "glpat" {
					t.Fatalf("gitlab request %s %v", r.Path, r.Header)
				}
				var p map[string]string
				mustJSON(t, r, &p)
				if p["state"] != "failed" {
					t.Fatalf("gitlab payload %s", r.Body)
				}
			}},
		{name: "gitea", cfg: Config{Type: "gitea", Token: "gt"}, path: "/org/app",
			check: func(t *testing.T, r testserver.RecordedRequest) {
				if r.Path != "/api/v1/repos/org/app/statuses/"+sha || r.Header.Get("Authorization") != "token gt" {
					t.Fatalf("gitea request %s %v", r.Path, r.Header)
				}
			}},
		{name: "bitbucket", cfg: Config{Type: "bitbucket", Token: "user:app-pass"}, path: "/team/app",
			check: func(t *testing.T, r testserver.RecordedRequest) {
				if r.Path != "/2.0/repositories/team/app/commit/"+sha+"/statuses/build" || !strings.HasPrefix(r.Header.Get("Authorization"), "Basic ") {
					t.Fatalf("bitbucket request %s %v", r.Path, r.Header)
				}
				var p map[string]string
				mustJSON(t, r, &p)
				if p["state"] != "FAILED" || len(p["key"]) != 40 {
					t.Fatalf("bitbucket payload %s", r.Body)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := testserver.NewWebhookSinkForTest(t)
			if tt.answer != "" {
				sink.SetStatus(http.StatusOK, tt.answer)
			}
			cfg := tt.cfg
			cfg.Address = sink.URL() + tt.path
			cfg.Retry = fastRetry()
			n, err := New(cfg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if err := n.Post(context.Background(), testEvent("error")); err != nil {
				t.Fatalf("Post: %v", err)
			}
			reqs := sink.Requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			want := tt.method
			if want == "" {
				want = http.MethodPost
			}
			if reqs[0].Method != want {
				t.Fatalf("method = %s, want %s", reqs[0].Method, want)
			}
			if tt.method == "" && tt.path != "" && !IsCommitStatus(cfg.Type) && cfg.Type != "githubdispatch" && reqs[0].Path != tt.path {
				t.Fatalf("path = %s, want %s", reqs[0].Path, tt.path)
			}
			tt.check(t, reqs[0])
		})
	}
}

func TestSlackInfoColour(t *testing.T) {
	p := slackMessage(testEvent("info"), "", "")
	if p.Attachments[0].Color != "good" {
		t.Fatalf("info colour = %s", p.Attachments[0].Color)
	}
}

func TestSlackAPIError(t *testing.T) {
	sink := testserver.NewWebhookSinkForTest(t)
	sink.SetStatus(http.StatusOK, `{"ok":false,"error":"channel_not_found"}`)
	n, err := New(Config{Type: "slack", Address: sink.URL(), Channel: "x", Token: "t", Retry: fastRetry()})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Post(context.Background(), testEvent("info")); err == nil || !strings.Contains(err.Error(), "channel_not_found") {
		t.Fatalf("err = %v, want channel_not_found", err)
	}
	if len(sink.Requests()) != 1 {
		t.Fatal("a Slack API refusal must not be retried")
	}
}

func TestRetryBounded(t *testing.T) {
	sink := testserver.NewWebhookSinkForTest(t)
	sink.SetStatus(http.StatusBadGateway, "down")
	n, err := New(Config{Type: "generic", Address: sink.URL() + "/secret-path-token", Retry: fastRetry()})
	if err != nil {
		t.Fatal(err)
	}
	err = n.Post(context.Background(), testEvent("info"))
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusBadGateway {
		t.Fatalf("err = %v, want a 502 StatusError", err)
	}
	if got := len(sink.Requests()); got != 3 {
		t.Fatalf("attempts = %d, want 3", got)
	}

	// A client error is final at once.
	sink.Reset()
	sink.SetStatus(http.StatusBadRequest, "no")
	if err := n.Post(context.Background(), testEvent("info")); err == nil {
		t.Fatal("want an error for 400")
	}
	if got := len(sink.Requests()); got != 1 {
		t.Fatalf("attempts on 400 = %d, want 1", got)
	}
}

func TestTransportErrorHidesAddress(t *testing.T) {
	sink := testserver.NewWebhookSinkForTest(t)
	addr := sink.URL() + "/services/T000/B000/very-secret-token"
	sink.Close()
	n, err := New(Config{Type: "slack", Address: addr, Retry: fastRetry(), Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = n.Post(context.Background(), testEvent("error"))
	if err == nil {
		t.Fatal("want an error from a closed server")
	}
	if strings.Contains(err.Error(), "very-secret-token") {
		t.Fatalf("the error leaks the address: %v", err)
	}
	if !retryable(err) {
		t.Fatalf("connection refused must be retryable: %v", err)
	}
}

func TestTimeoutRetried(t *testing.T) {
	block := make(chan struct{})
	ts := newSlowServer(t, block)
	n, err := New(Config{Type: "generic", Address: ts, Retry: Retry{Attempts: 2, Min: time.Millisecond, Max: time.Millisecond},
		Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = n.Post(context.Background(), testEvent("info"))
	close(block)
	if err == nil || !retryable(err) {
		t.Fatalf("err = %v, want a retryable timeout", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("two attempts of 50ms finished in %s", d)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Type: "googlepubsub", Address: "proj"}, "topic ID"},
		{Config{Type: "googlepubsub", Address: "proj", Channel: "t"}, "no credentials"},
		{Config{Type: "googlepubsub", Address: "proj", Channel: "t", Token: "tok-XYZ"}, "not a GCP service account JSON key"},
		{Config{Type: "azureeventhub", Address: "hub"}, "channel must name its namespace"},
		{Config{Type: "azureeventhub", Address: "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=tok-XYZ"}, "EntityPath"},
		{Config{Type: "azureeventhub", Address: "hub", Channel: "ns"}, "no credentials"},
		{Config{Type: "otel"}, "address is required"},
		{Config{Type: "nats", Address: "https://x", Channel: "s"}, "nats://"},
		{Config{Type: "zulip", Address: "https://x", Channel: "s"}, "username"},
		{Config{Type: "sentry", Address: "https://sentry.io/1"}, "DSN"},
		{Config{Type: "opsgenie", Address: "https://x"}, "token"},
		{Config{Type: "pagerduty"}, "routing key"},
		{Config{Type: "slack"}, "address is required"},
		{Config{Type: "slack", Token: "tok-XYZ"}, "channel is required"},
		{Config{Type: "generic", Address: "ftp://x/secret"}, "not an http(s) URL"},
		{Config{Type: "generic-hmac", Address: "https://x"}, "HMAC key"},
		{Config{Type: "github", Address: "https://github.com/org", Token: "tok-XYZ"}, "must name owner and repository"},
		{Config{Type: "github", Address: "https://github.com/org/app"}, "token"},
		{Config{Type: "bitbucket", Address: "https://bitbucket.org/o/r", Token: "nocolon"}, "username:app-password"},
		{Config{Type: "telegram", Token: "tok-XYZ"}, "chat ID"},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%s) err = %v, want %q", tt.cfg.Type, err, tt.want)
		}
		if err != nil && tt.cfg.Token != "" && strings.Contains(err.Error(), tt.cfg.Token) {
			t.Errorf("New(%s) error leaks the token", tt.cfg.Type)
		}
	}
	if _, err := New(Config{Type: "carrier-pigeon", Address: "https://x"}); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("want ErrNotSupported, got %v", err)
	}
}

func TestCommitSHA(t *testing.T) {
	for rev, want := range map[string]string{
		"main@sha1:" + sha:   sha,
		"sha1:" + sha:        sha,
		"main/" + sha:        sha,
		strings.ToUpper(sha): sha,
		"v1.0.0@sha256:" + strings.Repeat("a", 64): strings.Repeat("a", 64),
		"6.0.3":        "",
		"main@sha1:zz": "",
		"":             "",
	} {
		ev := testEvent("info")
		ev.Metadata = map[string]string{"revision": rev}
		got, err := commitSHA(ev)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("commitSHA(%q) = %q, %v; want %q", rev, got, err, want)
		}
	}
}

func mustShape(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, r testserver.RecordedRequest, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("body %s: %v", r.Body, err)
	}
}
