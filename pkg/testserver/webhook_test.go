package testserver

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestWebhookSink(t *testing.T) {
	s := NewWebhookSinkForTest(t)
	post := func(path, body string) int {
		resp, err := http.Post(s.URL()+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Error(err)
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	go post("/services/T0/B0/xyz", `{"text":"Kustomization/flux-system reconciled"}`)
	reqs := s.WaitFor(t, 1, 10*time.Second)
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/services/T0/B0/xyz" || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("recorded %s %s %v", r.Method, r.Path, r.Header)
	}
	if err := SlackMessage(r.Body); err != nil {
		t.Fatalf("SlackMessage: %v", err)
	}

	s.SetStatus(http.StatusInternalServerError, "boom")
	if code := post("/x", `{"username":"flux"}`); code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", code)
	}
	reqs = s.WaitFor(t, 2, 10*time.Second)
	if err := SlackMessage(reqs[1].Body); err == nil || !strings.Contains(err.Error(), `"text"`) {
		t.Fatalf("SlackMessage on bad payload: %v", err)
	}

	// Wait gives up at the deadline with an error.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Wait(ctx, 3); err == nil {
		t.Fatal("Wait returned without a third request")
	}
	s.Reset()
	if len(s.Requests()) != 0 {
		t.Fatal("Reset kept requests")
	}
}

func TestPayloadShapes(t *testing.T) {
	cases := []struct {
		name    string
		check   func([]byte) error
		body    string
		wantErr string
	}{
		{"slack attachments", SlackMessage, `{"attachments":[{"color":"good","text":"ok"}]}`, ""},
		{"slack blocks", SlackMessage, `{"blocks":[{"type":"section"}]}`, ""},
		{"slack empty attachment", SlackMessage, `{"attachments":[{"color":"good"}]}`, `attachments[0]`},
		{"slack not json", SlackMessage, `text`, "not a JSON object"},
		{"discord content", DiscordMessage, `{"content":"hi"}`, ""},
		{"discord embeds", DiscordMessage, `{"embeds":[{"title":"t"}]}`, ""},
		{"discord empty", DiscordMessage, `{"username":"flux"}`, `"content" or "embeds"`},
		{"teams adaptive", TeamsMessage, `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":{"type":"AdaptiveCard"}}]}`, ""},
		{"teams card", TeamsMessage, `{"@type":"MessageCard","@context":"https://schema.org/extensions","summary":"s"}`, ""},
		{"teams no type", TeamsMessage, `{"text":"x"}`, `"type": "message"`},
		{"teams no attachments", TeamsMessage, `{"type":"message"}`, `"attachments"`},
		{"teams no content", TeamsMessage, `{"type":"message","attachments":[{"contentType":"x"}]}`, `"content"`},
		{"teams card no summary", TeamsMessage, `{"@type":"MessageCard"}`, `"summary" or "text"`},
	}
	for _, c := range cases {
		err := c.check([]byte(c.body))
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: unexpected error %v", c.name, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: err = %v, want mention of %s", c.name, err, c.wantErr)
		}
	}
}
