package notifier

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// zulip sends a stream message through Zulip's REST API: the address is
// the server's `/api/v1/messages` endpoint, spec.channel the stream, and the
// Secret's `username` and `password` the bot's email and API key. Each
// object gets its own topic so its events thread together.
type zulip struct {
	c             *client
	url, stream   string
	authorization string
}

func newZulip(cfg Config, c *client) (Notifier, error) {
	if err := requireAddress(cfg); err != nil {
		return nil, err
	}
	if cfg.Channel == "" {
		return nil, errors.New("zulip provider: spec.channel (the stream) is required")
	}
	if cfg.BasicUser == "" || cfg.BasicPassword == "" {
		return nil, errors.New("zulip provider: the Secret's `username` (bot email) and `password` (API key) are required")
	}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.BasicUser+":"+cfg.BasicPassword))
	return &zulip{c: c, url: cfg.Address, stream: cfg.Channel, authorization: auth}, nil
}

func (z *zulip) Post(ctx context.Context, ev *eventv1.Event) error {
	// The messages endpoint takes form fields, not JSON.
	form := url.Values{
		"type":    {"stream"},
		"to":      {z.stream},
		"topic":   {truncateStr(subject(ev), 60)},
		"content": {markdown(ev)},
	}
	return z.c.do(ctx, request{method: http.MethodPost, url: z.url, body: []byte(form.Encode()), headers: map[string]string{
		"Content-Type": "application/x-www-form-urlencoded", "Authorization": z.authorization,
	}})
}
