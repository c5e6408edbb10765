package notifier

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gotk.dev/pkg/testserver"
)

// sendOne posts an event of the given severity through cfg to a fresh sink
// (cfg.Address is the sink URL passed through address) and returns the one
// request the service would receive.
func sendOne(t *testing.T, cfg Config, address func(base string) string, severity, answer string) testserver.RecordedRequest {
	t.Helper()
	sink := testserver.NewWebhookSinkForTest(t)
	if answer != "" {
		sink.SetStatus(http.StatusOK, answer)
	}
	cfg.Address = address(sink.URL())
	cfg.Retry = fastRetry()
	n, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := n.Post(context.Background(), testEvent(severity)); err != nil {
		t.Fatalf("Post: %v", err)
	}
	reqs := sink.Requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	return reqs[0]
}

// jsonAt reads a dotted path ("payload.severity", "body.0.text") from a JSON document.
func jsonAt(t *testing.T, body []byte, path string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			var i int
			if _, err := fmt.Sscan(k, &i); err != nil || i >= len(x) {
				t.Fatalf("%s: no index %s in %s", path, k, body)
			}
			v = x[i]
		default:
			t.Fatalf("%s: no field %s in %s", path, k, body)
		}
	}
	return v
}

func at(base string) func(string) string {
	return func(u string) string { return u + base }
}

// TestServiceProviders checks each chat and incident service against the
// fields its public API documents: method, path, auth header and body.
func TestServiceProviders(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		address  func(string) string
		severity string
		answer   string
		method   string
		path     string
		query    string
		headers  map[string]string
		fields   map[string]any // JSON path → value; a string value ending in "*" is a prefix
		check    func(t *testing.T, r testserver.RecordedRequest)
	}{
		{name: "lark", cfg: Config{Type: "lark"}, address: at("/open-apis/bot/v2/hook/abc"), answer: `{"code":0}`,
			path: "/open-apis/bot/v2/hook/abc",
			fields: map[string]any{"msg_type": "interactive", "card.header.template": "red",
				"card.header.title.tag": "plain_text", "card.header.title.content": "kustomization/apps.flux-system",
				"card.elements.0.tag": "div", "card.elements.0.text.tag": "lark_md",
				"card.elements.0.text.content": "**kustomization/apps.flux-system** (error)*"}},
		{name: "zulip", cfg: Config{Type: "zulip", Channel: "deploys", BasicUser: "bot@example.org", BasicPassword: "key1"},
			address: at("/api/v1/messages"), path: "/api/v1/messages",
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded",
				"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("bot@example.org:key1"))},
			check: func(t *testing.T, r testserver.RecordedRequest) {
				f, err := url.ParseQuery(string(r.Body))
				if err != nil || f.Get("type") != "stream" || f.Get("to") != "deploys" ||
					f.Get("topic") != "kustomization/apps.flux-system" || !strings.Contains(f.Get("content"), "Health check failed") {
					t.Fatalf("zulip form %s (%v)", r.Body, err)
				}
			}},
		{name: "zoom", cfg: Config{Type: "zoom", Token: "verif"}, address: at("/chat/webhooks/incomingwebhook/x"),
			path: "/chat/webhooks/incomingwebhook/x", query: "format=full", headers: map[string]string{"Authorization": "verif"},
			fields: map[string]any{"head.text": "kustomization/apps.flux-system", "body.0.type": "message",
				"body.0.text": "Health check failed after 30s*"}},
		{name: "opsgenie", cfg: Config{Type: "opsgenie", Token: "og-key"}, address: at("/v2/alerts"), path: "/v2/alerts",
			headers: map[string]string{"Authorization": "GenieKey og-key"},
			fields: map[string]any{"message": "kustomization/apps.flux-system: Health check failed after 30s",
				"description": "Health check failed after 30s", "priority": "P3", "source": "kustomize-controller",
				"details.revision": "main@sha1:" + sha, "details.reason": "HealthCheckFailed", "tags.0": "flux"}},
		{name: "pagerduty trigger", cfg: Config{Type: "pagerduty", Channel: "R0UTING"}, address: at(""), path: "/v2/enqueue",
			fields: map[string]any{"routing_key": "R0UTING", "event_action": "trigger",
				"dedup_key": "kustomization/apps.flux-system", "payload.severity": "error",
				"payload.source": "kustomize-controller", "payload.summary": "kustomization/apps.flux-system: HealthCheckFailed*",
				"payload.component": "Kustomization/apps", "payload.group": "flux-system", "payload.class": "HealthCheckFailed",
				"payload.custom_details.revision": "main@sha1:" + sha}},
		{name: "pagerduty resolve", cfg: Config{Type: "pagerduty", Channel: "R0UTING"}, address: at(""), severity: "info",
			path:   "/v2/enqueue",
			fields: map[string]any{"routing_key": "R0UTING", "event_action": "resolve", "dedup_key": "kustomization/apps.flux-system"}},
		{name: "datadog", cfg: Config{Type: "datadog", Token: "dd-key"}, address: at(""), path: "/api/v1/events",
			headers: map[string]string{"DD-API-KEY": "dd-key"},
			fields: map[string]any{"title": "kustomization/apps.flux-system HealthCheckFailed",
				"text": "Health check failed after 30s", "alert_type": "error", "source_type_name": "fluxcd",
				"tags.0": "flux_kind:kustomization", "tags.4": "flux_revision:main@sha1:" + sha}},
		{name: "grafana", cfg: Config{Type: "grafana", Token: "glsa"}, address: at("/api/annotations"), path: "/api/annotations",
			headers: map[string]string{"Authorization": "Bearer glsa"},
			fields:  map[string]any{"text": "kustomization/apps.flux-system: Health check failed after 30s", "tags.0": "flux"},
			check: func(t *testing.T, r testserver.RecordedRequest) {
				if ms, ok := jsonAt(t, r.Body, "time").(float64); !ok || ms < 1e12 {
					t.Fatalf("grafana time must be epoch milliseconds: %s", r.Body)
				}
			}},
		{name: "incident.io", cfg: Config{Type: "incident.io", Token: "inc"}, address: at("/v2/alert_events/http/01ABC"),
			path: "/v2/alert_events/http/01ABC", headers: map[string]string{"Authorization": "Bearer inc"},
			fields: map[string]any{"title": "kustomization/apps.flux-system: HealthCheckFailed", "status": "firing",
				"description": "Health check failed after 30s", "deduplication_key": "kustomization/apps.flux-system",
				"metadata.revision": "main@sha1:" + sha, "metadata.namespace": "flux-system"}},
		{name: "incident.io resolved", cfg: Config{Type: "incident.io", Token: "inc"}, address: at("/v2/alert_events/http/01ABC"),
			severity: "info", path: "/v2/alert_events/http/01ABC", fields: map[string]any{"status": "resolved"}},
		{name: "otel", cfg: Config{Type: "otel", Token: "otlp-tok"}, address: at("/v1/traces"), path: "/v1/traces",
			headers: map[string]string{"Authorization": "Bearer otlp-tok", "Content-Type": "application/json"},
			fields: map[string]any{
				"resourceSpans.0.resource.attributes.0.key":               "service.name",
				"resourceSpans.0.resource.attributes.0.value.stringValue": "kustomize-controller",
				"resourceSpans.0.scopeSpans.0.spans.0.name":               "kustomization/apps.flux-system HealthCheckFailed",
				"resourceSpans.0.scopeSpans.0.spans.0.kind":               float64(1),
				"resourceSpans.0.scopeSpans.0.spans.0.status.code":        float64(2),
				"resourceSpans.0.scopeSpans.0.spans.0.status.message":     "Health check failed after 30s",
				"resourceSpans.0.scopeSpans.0.spans.0.attributes.6.key":   "flux.metadata.revision"},
			check: func(t *testing.T, r testserver.RecordedRequest) {
				span := "resourceSpans.0.scopeSpans.0.spans.0."
				trace, _ := jsonAt(t, r.Body, span+"traceId").(string)
				id, _ := jsonAt(t, r.Body, span+"spanId").(string)
				if len(trace) != 32 || len(id) != 16 || strings.Trim(trace+id, "0123456789abcdef") != "" {
					t.Fatalf("trace/span IDs must be 32/16 lowercase hex: %q %q", trace, id)
				}
				if n, _ := jsonAt(t, r.Body, span+"startTimeUnixNano").(string); len(n) < 18 {
					t.Fatalf("startTimeUnixNano %q is not a nanosecond epoch string", n)
				}
			}},
		{name: "sentry", cfg: Config{Type: "sentry", Channel: "production"},
			address: func(u string) string { return strings.Replace(u, "://", "://pubkey@", 1) + "/42" },
			path:    "/api/42/envelope/",
			headers: map[string]string{"Content-Type": "application/x-sentry-envelope"},
			check: func(t *testing.T, r testserver.RecordedRequest) {
				if a := r.Header.Get("X-Sentry-Auth"); !strings.HasPrefix(a, "Sentry sentry_version=7,") || !strings.Contains(a, "sentry_key=pubkey") {
					t.Fatalf("X-Sentry-Auth = %q", a)
				}
				sc := bufio.NewScanner(bytes.NewReader(r.Body))
				var lines [][]byte
				for sc.Scan() {
					lines = append(lines, append([]byte(nil), sc.Bytes()...))
				}
				if len(lines) != 3 {
					t.Fatalf("envelope has %d lines, want 3: %s", len(lines), r.Body)
				}
				id := jsonAt(t, lines[0], "event_id")
				if jsonAt(t, lines[1], "type") != "event" || jsonAt(t, lines[1], "length") != float64(len(lines[2])) {
					t.Fatalf("item header %s (item %d bytes)", lines[1], len(lines[2]))
				}
				for k, want := range map[string]any{"event_id": id, "level": "error", "environment": "production",
					"message.formatted": "Health check failed after 30s", "logger": "kustomize-controller",
					"tags.name": "apps", "extra.revision": "main@sha1:" + sha} {
					if got := jsonAt(t, lines[2], k); got != want {
						t.Errorf("event %s = %v, want %v", k, got, want)
					}
				}
				if s, _ := id.(string); len(s) != 32 {
					t.Fatalf("event_id %v is not 32 hex characters", id)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sev := tt.severity
			if sev == "" {
				sev = "error"
			}
			r := sendOne(t, tt.cfg, tt.address, sev, tt.answer)
			want := tt.method
			if want == "" {
				want = http.MethodPost
			}
			if r.Method != want || r.Path != tt.path || r.RawQuery != tt.query {
				t.Fatalf("request %s %s?%s, want %s %s?%s", r.Method, r.Path, r.RawQuery, want, tt.path, tt.query)
			}
			for k, v := range tt.headers {
				if got := r.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			for k, v := range tt.fields {
				got := jsonAt(t, r.Body, k)
				if s, ok := v.(string); ok && strings.HasSuffix(s, "*") {
					if gs, _ := got.(string); !strings.HasPrefix(gs, strings.TrimSuffix(s, "*")) {
						t.Errorf("%s = %v, want prefix %q", k, got, s)
					}
					continue
				}
				if got != v {
					t.Errorf("%s = %v, want %v", k, got, v)
				}
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

// TestLarkRefusal surfaces the bot's refusal, which comes as 200 with a code.
func TestLarkRefusal(t *testing.T) {
	sink := testserver.NewWebhookSinkForTest(t)
	sink.SetStatus(http.StatusOK, `{"code":19021,"msg":"sign match fail"}`)
	n, err := New(Config{Type: "lark", Address: sink.URL() + "/hook", Retry: fastRetry()})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Post(context.Background(), testEvent("error")); err == nil || !strings.Contains(err.Error(), "19021") {
		t.Fatalf("Post err = %v, want the lark code", err)
	}
}
