package testserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// SlackMessage checks that body is a Slack incoming-webhook message: a JSON
// object with a non-empty "text", or a non-empty "blocks" or "attachments"
// array (attachments must be objects with some content). The error names
// what is missing.
func SlackMessage(body []byte) error {
	obj, err := jsonObject("slack", body)
	if err != nil {
		return err
	}
	if nonEmptyString(obj["text"]) {
		return nil
	}
	if nonEmptyArray(obj["blocks"]) {
		return nil
	}
	if atts, ok := obj["attachments"].([]any); ok && len(atts) > 0 {
		for i, a := range atts {
			m, ok := a.(map[string]any)
			if !ok {
				return fmt.Errorf("slack message: attachments[%d] is not an object", i)
			}
			if !nonEmptyString(m["text"]) && !nonEmptyString(m["fallback"]) &&
				!nonEmptyString(m["title"]) && !nonEmptyArray(m["fields"]) && !nonEmptyArray(m["blocks"]) {
				return fmt.Errorf(`slack message: attachments[%d] has no "text", "fallback", "title", "fields" or "blocks"`, i)
			}
		}
		return nil
	}
	return errors.New(`slack message: missing non-empty "text", "blocks" or "attachments"`)
}

// DiscordMessage checks that body is a Discord webhook message: a JSON
// object with a non-empty "content" or a non-empty "embeds" array whose
// entries are objects with a title, description or fields. (Flux's discord
// provider posts Slack-shaped payloads to the webhook's /slack endpoint;
// check those with SlackMessage.)
func DiscordMessage(body []byte) error {
	obj, err := jsonObject("discord", body)
	if err != nil {
		return err
	}
	if nonEmptyString(obj["content"]) {
		return nil
	}
	embeds, ok := obj["embeds"].([]any)
	if !ok || len(embeds) == 0 {
		return errors.New(`discord message: missing non-empty "content" or "embeds"`)
	}
	for i, e := range embeds {
		m, ok := e.(map[string]any)
		if !ok {
			return fmt.Errorf("discord message: embeds[%d] is not an object", i)
		}
		if !nonEmptyString(m["title"]) && !nonEmptyString(m["description"]) && !nonEmptyArray(m["fields"]) {
			return fmt.Errorf(`discord message: embeds[%d] has no "title", "description" or "fields"`, i)
		}
	}
	return nil
}

// TeamsMessage checks that body is a Microsoft Teams message in one of the
// two shapes Teams accepts:
//   - a Workflows/Adaptive Card message: "type": "message" with a non-empty
//     "attachments" array whose entries have "contentType" and an object
//     "content";
//   - a legacy connector MessageCard: "@type": "MessageCard" with a
//     "summary" or "text".
//
// The error names what is missing.
func TeamsMessage(body []byte) error {
	obj, err := jsonObject("teams", body)
	if err != nil {
		return err
	}
	if t, _ := obj["@type"].(string); strings.EqualFold(t, "MessageCard") {
		if !nonEmptyString(obj["summary"]) && !nonEmptyString(obj["text"]) {
			return errors.New(`teams MessageCard: missing "summary" or "text"`)
		}
		return nil
	}
	if t, _ := obj["type"].(string); t != "message" {
		return errors.New(`teams message: missing "type": "message" (or "@type": "MessageCard")`)
	}
	atts, ok := obj["attachments"].([]any)
	if !ok || len(atts) == 0 {
		return errors.New(`teams message: missing non-empty "attachments"`)
	}
	for i, a := range atts {
		m, ok := a.(map[string]any)
		if !ok {
			return fmt.Errorf("teams message: attachments[%d] is not an object", i)
		}
		if !nonEmptyString(m["contentType"]) {
			return fmt.Errorf(`teams message: attachments[%d] missing "contentType"`, i)
		}
		if _, ok := m["content"].(map[string]any); !ok {
			return fmt.Errorf(`teams message: attachments[%d] missing object "content"`, i)
		}
	}
	return nil
}

func jsonObject(kind string, body []byte) (map[string]any, error) {
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, fmt.Errorf("%s message: body is not a JSON object: %w", kind, err)
	}
	if obj == nil {
		return nil, fmt.Errorf("%s message: body is not a JSON object", kind)
	}
	return obj, nil
}

func nonEmptyString(v any) bool {
	s, ok := v.(string)
	return ok && strings.TrimSpace(s) != ""
}

func nonEmptyArray(v any) bool {
	a, ok := v.([]any)
	return ok && len(a) > 0
}
