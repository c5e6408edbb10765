package notifier

import (
	"context"
	"encoding/base64"
	"strings"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// grafana adds an annotation through Grafana's HTTP API: the address is the
// annotations endpoint (https://grafana/api/annotations); the Secret's
// `token` (a service account token) or `username`/`password` authenticate.
type grafana struct {
	c    *client
	url  string
	auth string
	now  func() time.Time
}

func newGrafana(cfg Config, c *client) (Notifier, error) {
	if err := requireAddress(cfg); err != nil {
		return nil, err
	}
	g := &grafana{c: c, url: cfg.Address, now: time.Now}
	switch {
	case cfg.Token != "":
		g.auth = "Bearer " + cfg.Token
	case cfg.BasicUser != "":
		g.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.BasicUser+":"+cfg.BasicPassword))
	}
	return g, nil
}

func (g *grafana) Post(ctx context.Context, ev *eventv1.Event) error {
	o := ev.InvolvedObject
	tags := []string{"flux", ev.ReportingController, "kind:" + strings.ToLower(o.Kind), "name:" + o.Name,
		"namespace:" + o.Namespace, "severity:" + ev.Severity}
	for _, f := range fields(ev) {
		tags = append(tags, f.Key+":"+f.Value)
	}
	payload := map[string]any{
		"time": g.now().UnixMilli(),
		"tags": tags,
		"text": subject(ev) + ": " + ev.Message,
	}
	var h map[string]string
	if g.auth != "" {
		h = map[string]string{"Authorization": g.auth}
	}
	return g.c.postJSON(ctx, g.url, payload, h)
}
