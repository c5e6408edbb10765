package notifier

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// otel exports each event as one span over OTLP/HTTP with the JSON
// encoding (POST to the collector's traces endpoint, e.g.
// http://collector:4318/v1/traces). Events of one object at one revision
// share a trace ID, so a rollout reads as one trace. The Secret's `token`
// (bearer) or `username`/`password` authenticate; `headers` pass through.
type otel struct {
	c    *client
	url  string
	auth string
	now  func() time.Time
}

func newOTel(cfg Config, c *client) (Notifier, error) {
	if err := requireAddress(cfg); err != nil {
		return nil, err
	}
	o := &otel{c: c, url: cfg.Address, now: time.Now}
	switch {
	case cfg.Token != "":
		o.auth = "Bearer " + cfg.Token
	case cfg.BasicUser != "":
		o.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.BasicUser+":"+cfg.BasicPassword))
	}
	return o, nil
}

// otlpKV is an OTLP KeyValue with a string AnyValue.
type otlpKV struct {
	Key   string            `json:"key"`
	Value map[string]string `json:"value"`
}

func kv(k, v string) otlpKV { return otlpKV{Key: k, Value: map[string]string{"stringValue": v}} }

func (o *otel) Post(ctx context.Context, ev *eventv1.Event) error {
	obj := ev.InvolvedObject
	rev, _ := ev.GetRevision()
	traceSum := sha256.Sum256([]byte(obj.Kind + "/" + obj.Namespace + "/" + obj.Name + "@" + rev))
	spanID := make([]byte, 8)
	if _, err := rand.Read(spanID); err != nil {
		return fmt.Errorf("generating the span ID: %w", err)
	}
	ts := ev.Timestamp.Time
	if ts.IsZero() {
		ts = o.now()
	}
	nanos := strconv.FormatInt(ts.UnixNano(), 10)
	attrs := []otlpKV{kv("flux.kind", obj.Kind), kv("flux.name", obj.Name), kv("flux.namespace", obj.Namespace),
		kv("flux.reason", ev.Reason), kv("flux.severity", ev.Severity), kv("flux.message", ev.Message)}
	for _, f := range fields(ev) {
		attrs = append(attrs, kv("flux.metadata."+f.Key, f.Value))
	}
	// Status codes: 1 OK, 2 ERROR; kind 1 is INTERNAL.
	status := map[string]any{"code": 1}
	if isError(ev) {
		status = map[string]any{"code": 2, "message": ev.Message}
	}
	span := map[string]any{
		"traceId":           hex.EncodeToString(traceSum[:16]),
		"spanId":            hex.EncodeToString(spanID),
		"name":              subject(ev) + " " + ev.Reason,
		"kind":              1,
		"startTimeUnixNano": nanos,
		"endTimeUnixNano":   nanos,
		"attributes":        attrs,
		"status":            status,
	}
	payload := map[string]any{"resourceSpans": []any{map[string]any{
		"resource": map[string]any{"attributes": []otlpKV{kv("service.name", ev.ReportingController)}},
		"scopeSpans": []any{map[string]any{
			"scope": map[string]string{"name": "gotk-notification-controller"},
			"spans": []any{span},
		}},
	}}}
	var h map[string]string
	if o.auth != "" {
		h = map[string]string{"Authorization": o.auth}
	}
	return o.c.postJSON(ctx, o.url, payload, h)
}
