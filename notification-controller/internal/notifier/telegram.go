package notifier

import (
	"context"
	"errors"
	"strings"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// telegramAPI is the Bot API base; spec.address overrides it.
const telegramAPI = "https://api.telegram.org"

// telegram calls the Bot API's sendMessage for the chat in spec.channel.
type telegram struct {
	c                 *client
	base, chat, token string
}

func newTelegram(cfg Config, c *client) (Notifier, error) {
	if cfg.Address == "" {
		cfg.Address = telegramAPI
	}
	if err := requireAddress(cfg); err != nil {
		return nil, err
	}
	if cfg.Channel == "" || cfg.Token == "" {
		return nil, errors.New("telegram provider: spec.channel (the chat ID) and the Secret's `token` are required")
	}
	return &telegram{c: c, base: strings.TrimSuffix(cfg.Address, "/"), chat: cfg.Channel, token: cfg.Token}, nil
}

func (t *telegram) Post(ctx context.Context, ev *eventv1.Event) error {
	// The token is part of the path by the API's design; errors drop the URL.
	u := t.base + "/bot" + t.token + "/sendMessage"
	payload := map[string]any{"chat_id": t.chat, "text": plainText(ev), "disable_web_page_preview": true}
	return t.c.postJSON(ctx, u, payload, nil)
}
