package notifier

import (
	"context"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// discord posts a native Discord webhook message with one embed.
type discord struct {
	c                 *client
	address, username string
}

type discordPayload struct {
	Username string         `json:"username,omitempty"`
	Embeds   []discordEmbed `json:"embeds"`
}

type discordEmbed struct {
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Color       int            `json:"color"`
	Fields      []discordField `json:"fields,omitempty"`
}

type discordField struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Inline bool   `json:"inline"`
}

func newDiscord(cfg Config, c *client) (Notifier, error) {
	if err := requireAddress(cfg); err != nil {
		return nil, err
	}
	return &discord{c: c, address: cfg.Address, username: cfg.Username}, nil
}

func (d *discord) Post(ctx context.Context, ev *eventv1.Event) error {
	color := 0x2eb886 // green
	if isError(ev) {
		color = 0xa30200 // red
	}
	e := discordEmbed{Title: subject(ev), Description: ev.Message, Color: color}
	for _, f := range fields(ev) {
		e.Fields = append(e.Fields, discordField{Name: f.Key, Value: f.Value})
	}
	return d.c.postJSON(ctx, d.address, discordPayload{Username: d.username, Embeds: []discordEmbed{e}}, nil)
}
