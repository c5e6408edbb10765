package notifier

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// newGitLabMRComment adds a note to the open merge request holding the
// commit (GET /projects/{id}/repository/commits/{sha}/merge_requests).
func newGitLabMRComment(cfg Config, c *client) (Notifier, error) {
	r, err := parseRepo(cfg.Type, cfg.Address, 2)
	if err != nil {
		return nil, err
	}
	if err := requireToken(cfg); err != nil {
		return nil, err
	}
	project := r.base() + "/api/v4/projects/" + url.PathEscape(r.path)
	p := &prComment{c: c, name: "merge request", headers: map[string]string{"PRIVATE-TOKEN": cfg.Token}, uid: cfg.ProviderUID}
	p.find = func(ctx context.Context, sha string) (string, error) {
		var mrs []struct {
			IID   int64  `json:"iid"`
			State string `json:"state"`
		}
		if err := p.getJSON(ctx, project+"/repository/commits/"+sha+"/merge_requests", &mrs); err != nil {
			return "", err
		}
		for _, mr := range mrs {
			if mr.State == "opened" {
				return fmt.Sprintf("%s/merge_requests/%d/notes", project, mr.IID), nil
			}
		}
		return "", nil
	}
	p.edit = func(notes string, id int64) (string, string) {
		return http.MethodPut, fmt.Sprintf("%s/%d", notes, id)
	}
	return p, nil
}
