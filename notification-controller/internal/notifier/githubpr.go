package notifier

import (
	"context"
	"fmt"

	"net/http"
)

// newGitHubPRComment comments on the open pull request holding the commit
// (GET /repos/{owner}/{repo}/commits/{sha}/pulls), through the issue
// comments API.
func newGitHubPRComment(cfg Config, c *client) (Notifier, error) {
	r, err := parseRepo(cfg.Type, cfg.Address, 2)
	if err != nil {
		return nil, err
	}
	if err := requireToken(cfg); err != nil {
		return nil, err
	}
	repoAPI := githubAPI(r) + "/repos/" + r.path
	p := &prComment{c: c, name: "pull request", headers: githubHeaders(cfg.Token), uid: cfg.ProviderUID}
	p.find = func(ctx context.Context, sha string) (string, error) {
		var pulls []struct {
			Number int64  `json:"number"`
			State  string `json:"state"`
		}
		if err := p.getJSON(ctx, repoAPI+"/commits/"+sha+"/pulls", &pulls); err != nil {
			return "", err
		}
		for _, pr := range pulls {
			if pr.State == "open" {
				return fmt.Sprintf("%s/issues/%d/comments", repoAPI, pr.Number), nil
			}
		}
		return "", nil
	}
	p.edit = func(_ string, id int64) (string, string) {
		return http.MethodPatch, fmt.Sprintf("%s/issues/comments/%d", repoAPI, id)
	}
	return p, nil
}
