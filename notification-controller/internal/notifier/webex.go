package notifier

import (
	"context"
	"errors"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// webexAPI is the messages endpoint; spec.address overrides it.
const webexAPI = "https://webexapis.com/v1/messages"

// webex posts a markdown message to the room in spec.channel with the bot
// token from the Secret.
type webex struct {
	c                    *client
	address, room, token string
}

func newWebex(cfg Config, c *client) (Notifier, error) {
	if cfg.Address == "" {
		cfg.Address = webexAPI
	}
	if err := requireAddress(cfg); err != nil {
		return nil, err
	}
	if cfg.Channel == "" || cfg.Token == "" {
		return nil, errors.New("webex provider: spec.channel (the room ID) and the Secret's `token` are required")
	}
	return &webex{c: c, address: cfg.Address, room: cfg.Channel, token: cfg.Token}, nil
}

func (w *webex) Post(ctx context.Context, ev *eventv1.Event) error {
	payload := map[string]string{"roomId": w.room, "markdown": markdown(ev)}
	return w.c.postJSON(ctx, w.address, payload, map[string]string{"Authorization": "Bearer " + w.token})
}
