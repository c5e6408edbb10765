package notifier

import (
	"context"
	"errors"
	"strings"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// datadog posts to the Datadog Events API (POST /api/v1/events): the address
// is the site's API host (https://api.datadoghq.com, .eu, …) and the
// Secret's `token` the API key, sent as DD-API-KEY.
type datadog struct {
	c          *client
	url, token string
}

func newDatadog(cfg Config, c *client) (Notifier, error) {
	if cfg.Address == "" {
		cfg.Address = "https://api.datadoghq.com"
	}
	if err := requireAddress(cfg); err != nil {
		return nil, err
	}
	if cfg.Token == "" {
		return nil, errors.New("datadog provider: the Secret's `token` (API key) is required")
	}
	return &datadog{c: c, url: strings.TrimSuffix(cfg.Address, "/") + "/api/v1/events", token: cfg.Token}, nil
}

func (d *datadog) Post(ctx context.Context, ev *eventv1.Event) error {
	alertType := "info"
	if isError(ev) {
		alertType = "error"
	}
	o := ev.InvolvedObject
	tags := []string{"flux_kind:" + strings.ToLower(o.Kind), "flux_name:" + o.Name, "flux_namespace:" + o.Namespace,
		"flux_reason:" + ev.Reason}
	if rev, ok := ev.GetRevision(); ok {
		tags = append(tags, "flux_revision:"+rev)
	}
	payload := map[string]any{
		"title":            truncateStr(subject(ev)+" "+ev.Reason, 100),
		"text":             truncateStr(ev.Message, 4000),
		"alert_type":       alertType,
		"source_type_name": "fluxcd",
		"aggregation_key":  subject(ev),
		"tags":             tags,
	}
	return d.c.postJSON(ctx, d.url, payload, map[string]string{"DD-API-KEY": d.token})
}
