package notifier

import (
	"context"
	"errors"
	"strings"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// pagerduty sends PagerDuty Events API v2 events: spec.channel is the
// integration's routing key and the address the events host
// (https://events.pagerduty.com). An error triggers an incident keyed by the
// object; an info event resolves it.
type pagerduty struct {
	c               *client
	url, routingKey string
}

func newPagerDuty(cfg Config, c *client) (Notifier, error) {
	if cfg.Address == "" {
		cfg.Address = "https://events.pagerduty.com"
	}
	if err := requireAddress(cfg); err != nil {
		return nil, err
	}
	if cfg.Channel == "" {
		return nil, errors.New("pagerduty provider: spec.channel (the integration routing key) is required")
	}
	return &pagerduty{c: c, url: strings.TrimSuffix(cfg.Address, "/") + "/v2/enqueue", routingKey: cfg.Channel}, nil
}

func (p *pagerduty) Post(ctx context.Context, ev *eventv1.Event) error {
	dedup := subject(ev)
	if !isError(ev) {
		return p.c.postJSON(ctx, p.url, map[string]any{
			"routing_key": p.routingKey, "event_action": "resolve", "dedup_key": dedup,
		}, nil)
	}
	details := map[string]string{"message": ev.Message}
	for _, f := range fields(ev) {
		details[f.Key] = f.Value
	}
	payload := map[string]any{
		"routing_key":  p.routingKey,
		"event_action": "trigger",
		"dedup_key":    dedup,
		"payload": map[string]any{
			// The summary is capped at 1024 characters.
			"summary":        truncateStr(dedup+": "+ev.Reason+": "+ev.Message, 1024),
			"source":         ev.ReportingController,
			"severity":       "error",
			"component":      ev.InvolvedObject.Kind + "/" + ev.InvolvedObject.Name,
			"group":          ev.InvolvedObject.Namespace,
			"class":          ev.Reason,
			"custom_details": details,
		},
	}
	return p.c.postJSON(ctx, p.url, payload, nil)
}
