package notifier

import (
	"context"
	"errors"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// gitea sets a commit status through the v1 API of the repository's host.
type gitea struct {
	c                     *client
	api, path, token, uid string
}

func newGitea(cfg Config, c *client) (Notifier, error) {
	r, err := parseRepo(cfg.Type, cfg.Address, 2)
	if err != nil {
		return nil, err
	}
	if cfg.Token == "" {
		return nil, errors.New("gitea provider: the Secret's `token` is required")
	}
	return &gitea{c: c, api: r.base() + "/api/v1", path: r.path, token: cfg.Token, uid: cfg.ProviderUID}, nil
}

func (g *gitea) Post(ctx context.Context, ev *eventv1.Event) error {
	sha, err := commitSHA(ev)
	if err != nil {
		return err
	}
	state := "success"
	if isError(ev) {
		state = "failure"
	}
	payload := map[string]string{"state": state, "context": commitStatusID(ctx, ev, g.uid), "description": description(ev)}
	return g.c.postJSON(ctx, g.api+"/repos/"+g.path+"/statuses/"+sha, payload,
		map[string]string{"Authorization": "token " + g.token})
}
