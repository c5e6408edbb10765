package notifier

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// generic POSTs the event JSON as received (after metadata cleanup) to the
// address; generic-hmac signs the body with the Secret's token in
// `X-Signature: sha256=<hex>`.
type generic struct {
	c       *client
	address string
	key     []byte
}

func newGeneric(cfg Config, c *client, signed bool) (Notifier, error) {
	if err := requireAddress(cfg); err != nil {
		return nil, err
	}
	g := &generic{c: c, address: cfg.Address}
	if signed {
		if cfg.Token == "" {
			return nil, errors.New("generic-hmac provider: the Secret's `token` (the HMAC key) is required")
		}
		g.key = []byte(cfg.Token)
	}
	return g, nil
}

// Sign returns the X-Signature value for body.
func Sign(key, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func (g *generic) Post(ctx context.Context, ev *eventv1.Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	headers := map[string]string{"gotk-component": ev.ReportingController}
	if g.key != nil {
		headers["X-Signature"] = Sign(g.key, body)
	}
	return g.c.do(ctx, request{method: http.MethodPost, url: g.address, body: body, headers: headers})
}
