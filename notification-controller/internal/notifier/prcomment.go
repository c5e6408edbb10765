package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// prComment keeps one comment per object (and Provider) on the pull or
// merge request that holds the event's commit, updating it on each event
// so a busy object does not flood the conversation. Each Git host fills in
// its own endpoints (githubpr.go, gitlabmr.go, giteapr.go).
type prComment struct {
	c       *client
	name    string
	headers map[string]string
	uid     string
	// find returns the URL of the comments collection of the open request
	// holding sha, or "" when the commit is in none.
	find func(ctx context.Context, sha string) (string, error)
	// edit returns the method and URL that replace comment id.
	edit func(commentsURL string, id int64) (string, string)
}

// comment is the part of a comment every host returns.
type comment struct {
	ID   int64  `json:"id"`
	Body string `json:"body"`
}

func (p *prComment) Post(ctx context.Context, ev *eventv1.Event) error {
	sha, err := commitSHA(ev)
	if err != nil {
		return err
	}
	commentsURL, err := p.find(ctx, sha)
	if err != nil {
		return fmt.Errorf("finding the %s for commit %s: %w", p.name, sha[:12], err)
	}
	if commentsURL == "" {
		// A commit outside any open request (a push to main) has nowhere to go.
		return nil
	}
	marker := "<!-- gotk: " + statusID(ev, p.uid) + " -->"
	body := map[string]string{"body": marker + "\n" + markdown(ev)}
	var existing []comment
	if err := p.getJSON(ctx, commentsURL+"?per_page=100", &existing); err != nil {
		return fmt.Errorf("listing the %s comments: %w", p.name, err)
	}
	for _, c := range existing {
		if strings.HasPrefix(c.Body, marker) {
			method, u := p.edit(commentsURL, c.ID)
			return p.sendJSON(ctx, method, u, body)
		}
	}
	return p.sendJSON(ctx, http.MethodPost, commentsURL, body)
}

func (p *prComment) getJSON(ctx context.Context, u string, v any) error {
	return p.c.do(ctx, request{method: http.MethodGet, url: u, headers: p.headers, check: func(b []byte) error {
		if err := json.Unmarshal(b, v); err != nil {
			return errors.New("the service answered with unexpected JSON")
		}
		return nil
	}})
}

func (p *prComment) sendJSON(ctx context.Context, method, u string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding the payload: %w", err)
	}
	return p.c.do(ctx, request{method: method, url: u, body: body, headers: p.headers})
}

func requireToken(cfg Config) error {
	if cfg.Token == "" {
		return fmt.Errorf("%s provider: the Secret's `token` is required", cfg.Type)
	}
	return nil
}
