package notifier

import (
	"context"
	"errors"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// opsgenie creates an alert through the Opsgenie Alert API: the address is
// the alerts endpoint (https://api.opsgenie.com/v2/alerts, or the EU one)
// and the Secret's `token` the API integration key.
type opsgenie struct {
	c          *client
	url, token string
}

func newOpsgenie(cfg Config, c *client) (Notifier, error) {
	if err := requireAddress(cfg); err != nil {
		return nil, err
	}
	if cfg.Token == "" {
		return nil, errors.New("opsgenie provider: the Secret's `token` (API key) is required")
	}
	return &opsgenie{c: c, url: cfg.Address, token: cfg.Token}, nil
}

func (o *opsgenie) Post(ctx context.Context, ev *eventv1.Event) error {
	details := map[string]string{}
	for _, f := range fields(ev) {
		details[f.Key] = f.Value
	}
	details["reason"] = ev.Reason
	details["severity"] = ev.Severity
	priority := "P5"
	if isError(ev) {
		priority = "P3"
	}
	payload := map[string]any{
		// Opsgenie caps the message at 130 characters.
		"message":     truncateStr(subject(ev)+": "+ev.Message, 130),
		"description": truncateStr(ev.Message, 15000),
		"alias":       statusID(ev, "") + "/" + ev.Reason,
		"source":      ev.ReportingController,
		"entity":      subject(ev),
		"priority":    priority,
		"tags":        []string{"flux", ev.Severity, ev.InvolvedObject.Kind},
		"details":     details,
	}
	return o.c.postJSON(ctx, o.url, payload, map[string]string{"Authorization": "GenieKey " + o.token})
}
