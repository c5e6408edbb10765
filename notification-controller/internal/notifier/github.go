package notifier

import (
	"context"
	"errors"
	"strings"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// github sets a commit status through the REST API: api.github.com for
// github.com, <host>/api/v3 for GitHub Enterprise (and for a test server).
type github struct {
	c          *client
	api, path  string
	token, uid string
}

// githubAPI returns the REST base for a repository host.
func githubAPI(r repo) string {
	if strings.EqualFold(r.host, "github.com") || strings.EqualFold(r.host, "www.github.com") {
		return "https://api.github.com"
	}
	return r.base() + "/api/v3"
}

func githubHeaders(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token, "Accept": "application/vnd.github+json",
		"X-GitHub-Api-Version": "2022-11-28"}
}

func newGitHub(cfg Config, c *client) (Notifier, error) {
	r, err := parseRepo(cfg.Type, cfg.Address, 2)
	if err != nil {
		return nil, err
	}
	if cfg.Token == "" {
		return nil, errors.New("github provider: the Secret's `token` is required")
	}
	return &github{c: c, api: githubAPI(r), path: r.path, token: cfg.Token, uid: cfg.ProviderUID}, nil
}

func (g *github) Post(ctx context.Context, ev *eventv1.Event) error {
	sha, err := commitSHA(ev)
	if err != nil {
		return err
	}
	state := "success"
	if isError(ev) {
		state = "failure"
	}
	payload := map[string]string{"state": state, "context": commitStatusID(ctx, ev, g.uid), "description": description(ev)}
	return g.c.postJSON(ctx, g.api+"/repos/"+g.path+"/statuses/"+sha, payload, githubHeaders(g.token))
}
