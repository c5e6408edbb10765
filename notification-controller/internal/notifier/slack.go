package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// slackAPI is the chat.postMessage endpoint used with a bot token.
const slackAPI = "https://slack.com/api/chat.postMessage"

// slackPayload is an incoming-webhook / chat.postMessage message with one
// coloured attachment.
type slackPayload struct {
	Channel     string            `json:"channel,omitempty"`
	Username    string            `json:"username,omitempty"`
	IconURL     string            `json:"icon_url,omitempty"`
	Text        string            `json:"text,omitempty"`
	Attachments []slackAttachment `json:"attachments"`
}

type slackAttachment struct {
	Color      string       `json:"color"`
	AuthorName string       `json:"author_name"`
	Text       string       `json:"text"`
	Fallback   string       `json:"fallback"`
	MrkdwnIn   []string     `json:"mrkdwn_in"`
	Fields     []slackField `json:"fields,omitempty"`
}

type slackField struct {
	Title string `json:"title"`
	Value string `json:"value"`
	Short bool   `json:"short"`
}

// slackMessage builds the message: "danger" red for errors, "good" green
// for info, the object as author and the metadata as fields.
func slackMessage(ev *eventv1.Event, channel, username string) slackPayload {
	color := "good"
	if isError(ev) {
		color = "danger"
	}
	a := slackAttachment{Color: color, AuthorName: subject(ev), Text: ev.Message,
		Fallback: subject(ev) + ": " + ev.Message, MrkdwnIn: []string{"text"}}
	for _, f := range fields(ev) {
		a.Fields = append(a.Fields, slackField{Title: f.Key, Value: f.Value})
	}
	return slackPayload{Channel: channel, Username: username, Attachments: []slackAttachment{a}}
}

type slack struct {
	c        *client
	address  string
	token    string
	channel  string
	username string
}

// newSlack posts to an incoming webhook (address only) or, with a bot
// token, to chat.postMessage (address defaulting to Slack's API) with the
// channel required.
func newSlack(cfg Config, c *client) (Notifier, error) {
	s := &slack{c: c, address: cfg.Address, token: cfg.Token, channel: cfg.Channel, username: cfg.Username}
	if s.token != "" {
		if s.address == "" {
			s.address = slackAPI
			cfg.Address = slackAPI
		}
		if s.channel == "" {
			return nil, errors.New("slack provider: a channel is required with a bot token")
		}
	}
	if err := requireAddress(cfg); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *slack) Post(ctx context.Context, ev *eventv1.Event) error {
	body, err := json.Marshal(slackMessage(ev, s.channel, s.username))
	if err != nil {
		return err
	}
	req := request{method: "POST", url: s.address, body: body}
	if s.token != "" {
		req.headers = map[string]string{"Authorization": "Bearer " + s.token}
		// The Web API answers 200 with {"ok":false} on failure.
		req.check = func(b []byte) error {
			var r struct {
				OK    bool   `json:"ok"`
				Error string `json:"error"`
			}
			if err := json.Unmarshal(b, &r); err != nil {
				return fmt.Errorf("slack API: unreadable answer: %w", err)
			}
			if !r.OK {
				return fmt.Errorf("slack API: %s", r.Error)
			}
			return nil
		}
	}
	return s.c.do(ctx, req)
}
