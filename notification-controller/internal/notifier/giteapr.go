package notifier

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// newGiteaPRComment comments on the pull request holding the commit
// (GET /repos/{owner}/{repo}/commits/{sha}/pull), through the issue
// comments API.
func newGiteaPRComment(cfg Config, c *client) (Notifier, error) {
	r, err := parseRepo(cfg.Type, cfg.Address, 2)
	if err != nil {
		return nil, err
	}
	if err := requireToken(cfg); err != nil {
		return nil, err
	}
	repoAPI := r.base() + "/api/v1/repos/" + r.path
	p := &prComment{c: c, name: "pull request", headers: map[string]string{"Authorization": "token " + cfg.Token}, uid: cfg.ProviderUID}
	p.find = func(ctx context.Context, sha string) (string, error) {
		var pr struct {
			Number int64  `json:"number"`
			State  string `json:"state"`
		}
		err := p.getJSON(ctx, repoAPI+"/commits/"+sha+"/pull", &pr)
		var se *StatusError
		if errors.As(err, &se) && se.Code == http.StatusNotFound {
			return "", nil // no pull request holds the commit
		}
		if err != nil || pr.State != "open" {
			return "", err
		}
		return fmt.Sprintf("%s/issues/%d/comments", repoAPI, pr.Number), nil
	}
	p.edit = func(_ string, id int64) (string, string) {
		return http.MethodPatch, fmt.Sprintf("%s/issues/comments/%d", repoAPI, id)
	}
	return p, nil
}
