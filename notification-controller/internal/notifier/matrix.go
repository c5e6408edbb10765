package notifier

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// matrix sends an m.room.message to the room in spec.channel on the
// homeserver at spec.address with the access token from the Secret.
type matrix struct {
	c                 *client
	base, room, token string
}

func newMatrix(cfg Config, c *client) (Notifier, error) {
	if err := requireAddress(cfg); err != nil {
		return nil, err
	}
	if cfg.Channel == "" || cfg.Token == "" {
		return nil, errors.New("matrix provider: spec.channel (the room ID) and the Secret's `token` are required")
	}
	return &matrix{c: c, base: strings.TrimSuffix(cfg.Address, "/"), room: cfg.Channel, token: cfg.Token}, nil
}

func (m *matrix) Post(ctx context.Context, ev *eventv1.Event) error {
	// A fresh transaction ID per delivery; retries of one delivery reuse it,
	// so the homeserver de-duplicates them.
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	u := m.base + "/_matrix/client/v3/rooms/" + url.PathEscape(m.room) + "/send/m.room.message/" + hex.EncodeToString(b)
	body, err := json.Marshal(map[string]string{"msgtype": "m.text", "body": plainText(ev)})
	if err != nil {
		return err
	}
	return m.c.do(ctx, request{method: http.MethodPut, url: u, body: body,
		headers: map[string]string{"Authorization": "Bearer " + m.token}})
}
