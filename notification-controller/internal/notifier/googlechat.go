package notifier

import (
	"context"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// googlechat posts a card (cardsV2) to a Google Chat space webhook.
type googlechat struct {
	c       *client
	address string
}

func newGoogleChat(cfg Config, c *client) (Notifier, error) {
	if err := requireAddress(cfg); err != nil {
		return nil, err
	}
	return &googlechat{c: c, address: cfg.Address}, nil
}

func (g *googlechat) Post(ctx context.Context, ev *eventv1.Event) error {
	widgets := []any{map[string]any{"textParagraph": map[string]string{"text": ev.Message}}}
	for _, f := range fields(ev) {
		widgets = append(widgets, map[string]any{"decoratedText": map[string]string{"topLabel": f.Key, "text": f.Value}})
	}
	payload := map[string]any{
		"text": subject(ev) + ": " + ev.Message,
		"cardsV2": []any{map[string]any{
			"cardId": "gotk-event",
			"card": map[string]any{
				"header":   map[string]string{"title": subject(ev), "subtitle": ev.Severity},
				"sections": []any{map[string]any{"widgets": widgets}},
			},
		}},
	}
	return g.c.postJSON(ctx, g.address, payload, nil)
}
