package notifier

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// sentry sends each event to Sentry's envelope endpoint as one event item.
// The address is the project's DSN (https://<public key>@host/<project id>);
// spec.channel, when set, is the Sentry environment.
type sentry struct {
	c                   *client
	url, dsn, auth, env string
	now                 func() time.Time
}

func newSentry(cfg Config, c *client) (Notifier, error) {
	if err := requireAddress(cfg); err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.Address) // requireAddress parsed it
	key := u.User.Username()
	project := strings.Trim(u.Path, "/")
	if key == "" || project == "" {
		return nil, errors.New("sentry provider: the address must be a DSN naming a public key and a project")
	}
	// A DSN may carry a path prefix before the project ID.
	prefix := ""
	if i := strings.LastIndex(project, "/"); i >= 0 {
		prefix, project = "/"+project[:i], project[i+1:]
	}
	api := u.Scheme + "://" + u.Host + prefix + "/api/" + project + "/envelope/"
	auth := "Sentry sentry_version=7, sentry_client=gotk-notification-controller/1.0, sentry_key=" + key
	return &sentry{c: c, url: api, dsn: cfg.Address, auth: auth, env: cfg.Channel, now: time.Now}, nil
}

func (s *sentry) Post(ctx context.Context, ev *eventv1.Event) error {
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return fmt.Errorf("generating the event ID: %w", err)
	}
	eventID := hex.EncodeToString(id)
	level := "info"
	if isError(ev) {
		level = "error"
	}
	extra := map[string]string{}
	for _, f := range fields(ev) {
		extra[f.Key] = f.Value
	}
	o := ev.InvolvedObject
	event := map[string]any{
		"event_id":  eventID,
		"timestamp": s.now().UTC().Format(time.RFC3339),
		"platform":  "other",
		"level":     level,
		"logger":    ev.ReportingController,
		"message":   map[string]string{"formatted": ev.Message},
		"tags":      map[string]string{"kind": o.Kind, "name": o.Name, "namespace": o.Namespace, "reason": ev.Reason},
		"extra":     extra,
	}
	if s.env != "" {
		event["environment"] = s.env
	}
	item, err := json.Marshal(event)
	if err != nil {
		return fmt.Errorf("encoding the payload: %w", err)
	}
	// An envelope is newline-separated JSON: envelope header, item header, item.
	var b bytes.Buffer
	for _, v := range []any{
		map[string]string{"event_id": eventID, "dsn": s.dsn, "sent_at": s.now().UTC().Format(time.RFC3339)},
		map[string]any{"type": "event", "length": len(item), "content_type": "application/json"},
	} {
		line, _ := json.Marshal(v)
		b.Write(line)
		b.WriteByte('\n')
	}
	b.Write(item)
	b.WriteByte('\n')
	return s.c.do(ctx, request{method: http.MethodPost, url: s.url, body: b.Bytes(), headers: map[string]string{
		"Content-Type": "application/x-sentry-envelope", "X-Sentry-Auth": s.auth,
	}})
}
