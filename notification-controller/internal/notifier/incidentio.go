package notifier

import (
	"context"
	"errors"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// incidentIO sends an alert event to an incident.io HTTP alert source: the
// address is the source's URL (…/v2/alert_events/http/<source config id>)
// and the Secret's `token` its bearer token. Errors fire the alert keyed by
// the object; info events resolve it.
type incidentIO struct {
	c          *client
	url, token string
}

func newIncidentIO(cfg Config, c *client) (Notifier, error) {
	if err := requireAddress(cfg); err != nil {
		return nil, err
	}
	if cfg.Token == "" {
		return nil, errors.New("incident.io provider: the Secret's `token` is required")
	}
	return &incidentIO{c: c, url: cfg.Address, token: cfg.Token}, nil
}

func (i *incidentIO) Post(ctx context.Context, ev *eventv1.Event) error {
	status := "resolved"
	if isError(ev) {
		status = "firing"
	}
	metadata := map[string]string{"reason": ev.Reason, "severity": ev.Severity, "controller": ev.ReportingController,
		"kind": ev.InvolvedObject.Kind, "name": ev.InvolvedObject.Name, "namespace": ev.InvolvedObject.Namespace}
	for _, f := range fields(ev) {
		metadata[f.Key] = f.Value
	}
	payload := map[string]any{
		"title":             truncateStr(subject(ev)+": "+ev.Reason, 255),
		"description":       ev.Message,
		"deduplication_key": subject(ev),
		"status":            status,
		"metadata":          metadata,
	}
	return i.c.postJSON(ctx, i.url, payload, map[string]string{"Authorization": "Bearer " + i.token})
}
