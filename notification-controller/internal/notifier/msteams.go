package notifier

import (
	"context"
	"net/url"
	"strings"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// msteams posts an Adaptive Card message (Teams Workflows), or a legacy
// MessageCard when the address is an Office 365 connector webhook.
type msteams struct {
	c       *client
	address string
	legacy  bool
}

func newMSTeams(cfg Config, c *client) (Notifier, error) {
	if err := requireAddress(cfg); err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.Address)
	legacy := strings.HasSuffix(u.Hostname(), ".webhook.office.com")
	return &msteams{c: c, address: cfg.Address, legacy: legacy}, nil
}

func (m *msteams) Post(ctx context.Context, ev *eventv1.Event) error {
	if m.legacy {
		return m.c.postJSON(ctx, m.address, messageCard(ev), nil)
	}
	return m.c.postJSON(ctx, m.address, adaptiveCard(ev), nil)
}

func adaptiveCard(ev *eventv1.Event) map[string]any {
	color := "Good"
	if isError(ev) {
		color = "Attention"
	}
	facts := []map[string]string{}
	for _, f := range fields(ev) {
		facts = append(facts, map[string]string{"title": f.Key, "value": f.Value})
	}
	body := []any{
		map[string]any{"type": "TextBlock", "text": subject(ev), "weight": "Bolder", "size": "Medium", "color": color, "wrap": true},
		map[string]any{"type": "TextBlock", "text": ev.Message, "wrap": true},
	}
	if len(facts) > 0 {
		body = append(body, map[string]any{"type": "FactSet", "facts": facts})
	}
	return map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"content": map[string]any{
				"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
				"type":    "AdaptiveCard",
				"version": "1.4",
				"body":    body,
			},
		}},
	}
}

func messageCard(ev *eventv1.Event) map[string]any {
	color := "2eb886"
	if isError(ev) {
		color = "a30200"
	}
	facts := []map[string]string{}
	for _, f := range fields(ev) {
		facts = append(facts, map[string]string{"name": f.Key, "value": f.Value})
	}
	return map[string]any{
		"@type":      "MessageCard",
		"@context":   "https://schema.org/extensions",
		"themeColor": color,
		"summary":    subject(ev),
		"sections":   []any{map[string]any{"activityTitle": subject(ev), "activitySubtitle": ev.Message, "facts": facts}},
	}
}
