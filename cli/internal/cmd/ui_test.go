package cmd

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is an io.Writer the command writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestUICommand: `gotk ui` prints a URL whose token opens a session, and
// stops on interrupt (here: the context).
func TestUICommand(t *testing.T) {
	var out syncBuffer
	root := NewRoot(&out)
	root.SetArgs([]string{"--kubeconfig", env.Kubeconfig, "ui", "--address", "127.0.0.1:0"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	urlRE := regexp.MustCompile(`http://127\.0\.0\.1:\d+/login\?token=[0-9a-f]{64}`)
	var url string
	deadline := time.Now().Add(60 * time.Second)
	for url == "" {
		select {
		case err := <-done:
			t.Fatalf("gotk ui exited: %v\n%s", err, out.String())
		case <-time.After(100 * time.Millisecond):
		}
		url = urlRE.FindString(out.String())
		if time.Now().After(deadline) {
			t.Fatalf("no URL printed within 60s:\n%s", out.String())
		}
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<h1>Overview</h1>") {
		t.Fatalf("opening the printed URL: %d\n%s", resp.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("gotk ui ended with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("gotk ui did not stop")
	}
}
