package notifier

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	natsserver "github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
)

// startNATS runs a real NATS server in process on a free loopback port,
// requiring the given user and password.
func startNATS(t *testing.T, user, pass string) string {
	t.Helper()
	s, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true,
		Username: user, Password: pass})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(s.Shutdown)
	return s.ClientURL()
}

// TestNATS publishes the event's JSON document on the subject, through a
// real server, with the Secret's credentials.
func TestNATS(t *testing.T) {
	addr := startNATS(t, "flux", "s3cr3t")
	sub, err := natsgo.Connect(addr, natsgo.UserInfo("flux", "s3cr3t"))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	msgs := make(chan *natsgo.Msg, 4)
	if _, err := sub.ChanSubscribe("flux.events", msgs); err != nil {
		t.Fatal(err)
	}
	if err := sub.Flush(); err != nil {
		t.Fatal(err)
	}
	n, err := New(Config{Type: "nats", Address: addr, Channel: "flux.events", BasicUser: "flux", BasicPassword: "s3cr3t"})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Post(context.Background(), testEvent("error")); err != nil {
		t.Fatalf("Post: %v", err)
	}
	select {
	case m := <-msgs:
		var ev eventv1.Event
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatalf("message %s: %v", m.Data, err)
		}
		if ev.InvolvedObject.Name != "apps" || ev.Severity != "error" || ev.Message != "Health check failed after 30s" ||
			ev.Metadata["revision"] != "main@sha1:"+sha {
			t.Fatalf("published event %s", m.Data)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no message on the subject")
	}

	// Wrong credentials fail clearly and do not echo the password.
	bad, err := New(Config{Type: "nats", Address: addr, Channel: "flux.events", BasicUser: "flux", BasicPassword: "wrong-pw"})
	if err != nil {
		t.Fatal(err)
	}
	err = bad.Post(context.Background(), testEvent("error"))
	if err == nil || strings.Contains(err.Error(), "wrong-pw") {
		t.Fatalf("Post with a wrong password err = %v", err)
	}
}
