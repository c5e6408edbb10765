package notifier

import (
	"context"
	"encoding/json"
	"fmt"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// lark posts an interactive card to a Lark (Feishu) custom bot webhook:
// the address is the bot's hook URL, which is its credential.
type lark struct {
	c   *client
	url string
}

func newLark(cfg Config, c *client) (Notifier, error) {
	if err := requireAddress(cfg); err != nil {
		return nil, err
	}
	return &lark{c: c, url: cfg.Address}, nil
}

type larkText struct {
	Tag     string `json:"tag"`
	Content string `json:"content"`
}

func (l *lark) Post(ctx context.Context, ev *eventv1.Event) error {
	template := "green"
	if isError(ev) {
		template = "red"
	}
	card := map[string]any{
		"config": map[string]any{"wide_screen_mode": true},
		"header": map[string]any{"title": larkText{Tag: "plain_text", Content: subject(ev)}, "template": template},
		"elements": []any{
			map[string]any{"tag": "div", "text": larkText{Tag: "lark_md", Content: markdown(ev)}},
		},
	}
	body, err := json.Marshal(map[string]any{"msg_type": "interactive", "card": card})
	if err != nil {
		return fmt.Errorf("encoding the payload: %w", err)
	}
	// The bot answers 200 with a non-zero code on a refused message.
	return l.c.do(ctx, request{method: "POST", url: l.url, body: body, check: larkCheck})
}

func larkCheck(body []byte) error {
	var r struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	}
	if json.Unmarshal(body, &r) == nil && r.Code != 0 {
		return fmt.Errorf("lark refused the message: code %d %s", r.Code, truncateStr(r.Msg, 120))
	}
	return nil
}
