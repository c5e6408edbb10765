package notifier

import (
	"context"
	"errors"
	"net/url"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// gitlab sets a commit status through the v4 API of the repository's host;
// the project is addressed by its URL-encoded path.
type gitlab struct {
	c                        *client
	api, project, token, uid string
}

func newGitLab(cfg Config, c *client) (Notifier, error) {
	r, err := parseRepo(cfg.Type, cfg.Address, 2)
	if err != nil {
		return nil, err
	}
	if cfg.Token == "" {
		return nil, errors.New("gitlab provider: the Secret's `token` is required")
	}
	return &gitlab{c: c, api: r.base() + "/api/v4", project: url.PathEscape(r.path), token: cfg.Token, uid: cfg.ProviderUID}, nil
}

func (g *gitlab) Post(ctx context.Context, ev *eventv1.Event) error {
	sha, err := commitSHA(ev)
	if err != nil {
		return err
	}
	state := "success"
	if isError(ev) {
		state = "failed"
	}
	payload := map[string]string{"state": state, "name": commitStatusID(ctx, ev, g.uid), "description": description(ev)}
	return g.c.postJSON(ctx, g.api+"/projects/"+g.project+"/statuses/"+sha, payload,
		map[string]string{"PRIVATE-TOKEN": g.token})
}
