package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	natsgo "github.com/nats-io/nats.go"
)

// natsPublisher publishes each event, as its JSON document, on the NATS
// subject spec.channel of the server at the address (nats://host:4222).
// The Secret's `token`, or `username` and `password`, authenticate.
type natsPublisher struct {
	address, subject string
	opts             []natsgo.Option
	timeout          time.Duration
}

func newNATS(cfg Config) (Notifier, error) {
	u, err := url.Parse(cfg.Address)
	if cfg.Address == "" || err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
		return nil, errors.New("nats provider: the address must be a nats:// (or tls://) server URL")
	}
	if cfg.Channel == "" {
		return nil, errors.New("nats provider: spec.channel (the subject) is required")
	}
	opts := []natsgo.Option{natsgo.Name("gotk-notification-controller"), natsgo.Timeout(cfg.Timeout),
		natsgo.NoReconnect()}
	switch {
	case cfg.Token != "":
		opts = append(opts, natsgo.Token(cfg.Token))
	case cfg.BasicUser != "":
		opts = append(opts, natsgo.UserInfo(cfg.BasicUser, cfg.BasicPassword))
	}
	if cfg.TLS != nil {
		opts = append(opts, natsgo.Secure(cfg.TLS))
	}
	return &natsPublisher{address: cfg.Address, subject: cfg.Channel, opts: opts, timeout: cfg.Timeout}, nil
}

// Post connects, publishes and flushes, so a returned nil means the server
// took the message. A connection per event keeps no idle sockets for
// Providers that rarely send.
func (n *natsPublisher) Post(ctx context.Context, ev *eventv1.Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encoding the payload: %w", err)
	}
	nc, err := natsgo.Connect(n.address, n.opts...)
	if err != nil {
		// The nats error names the server, never the credentials.
		return fmt.Errorf("connecting to the NATS server: %w", err)
	}
	defer nc.Close()
	if err := nc.Publish(n.subject, body); err != nil {
		return fmt.Errorf("publishing on %q: %w", n.subject, err)
	}
	fctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	if err := nc.FlushWithContext(fctx); err != nil {
		return fmt.Errorf("flushing to the NATS server: %w", err)
	}
	return nil
}
