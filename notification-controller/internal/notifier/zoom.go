package notifier

import (
	"context"
	"net/url"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// zoom posts to a Zoom Team Chat incoming webhook in its `format=full`
// message shape; the Secret's `token` is the webhook's verification token,
// sent as the Authorization header.
type zoom struct {
	c          *client
	url, token string
}

func newZoom(cfg Config, c *client) (Notifier, error) {
	if err := requireAddress(cfg); err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.Address) // requireAddress parsed it
	q := u.Query()
	if q.Get("format") == "" {
		q.Set("format", "full")
		u.RawQuery = q.Encode()
	}
	return &zoom{c: c, url: u.String(), token: cfg.Token}, nil
}

func (z *zoom) Post(ctx context.Context, ev *eventv1.Event) error {
	text := ev.Message
	for _, f := range fields(ev) {
		text += "\n" + f.Key + ": " + f.Value
	}
	payload := map[string]any{
		"head": map[string]any{"text": subject(ev), "sub_head": map[string]string{"text": ev.Severity}},
		"body": []map[string]string{{"type": "message", "text": text}},
	}
	var h map[string]string
	if z.token != "" {
		h = map[string]string{"Authorization": z.token}
	}
	return z.c.postJSON(ctx, z.url, payload, h)
}
