package notifier

import (
	"context"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// rocket posts to a Rocket.Chat incoming webhook, which takes Slack's
// message format.
type rocket struct {
	c                          *client
	address, channel, username string
}

func newRocket(cfg Config, c *client) (Notifier, error) {
	if err := requireAddress(cfg); err != nil {
		return nil, err
	}
	return &rocket{c: c, address: cfg.Address, channel: cfg.Channel, username: cfg.Username}, nil
}

func (r *rocket) Post(ctx context.Context, ev *eventv1.Event) error {
	return r.c.postJSON(ctx, r.address, slackMessage(ev, r.channel, r.username), nil)
}
