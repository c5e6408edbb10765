package notifier

import (
	"context"
	"errors"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// githubDispatch sends a repository_dispatch event whose type names the
// object (Kustomization/apps.flux-system) and whose payload is the event,
// so a GitHub Actions workflow can react to it.
type githubDispatch struct {
	c                *client
	api, path, token string
}

func newGitHubDispatch(cfg Config, c *client) (Notifier, error) {
	r, err := parseRepo(cfg.Type, cfg.Address, 2)
	if err != nil {
		return nil, err
	}
	if cfg.Token == "" {
		return nil, errors.New("githubdispatch provider: the Secret's `token` is required")
	}
	return &githubDispatch{c: c, api: githubAPI(r), path: r.path, token: cfg.Token}, nil
}

func (g *githubDispatch) Post(ctx context.Context, ev *eventv1.Event) error {
	o := ev.InvolvedObject
	payload := map[string]any{"event_type": o.Kind + "/" + o.Name + "." + o.Namespace, "client_payload": ev}
	return g.c.postJSON(ctx, g.api+"/repos/"+g.path+"/dispatches", payload, githubHeaders(g.token))
}
