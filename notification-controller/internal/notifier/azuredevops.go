package notifier

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// azureDevOps creates a Git commit status through the Azure DevOps REST API
// (POST {org}/{project}/_apis/git/repositories/{repo}/commits/{sha}/statuses).
// The address is the repository URL (https://dev.azure.com/org/project/_git/repo,
// or an on-premises collection URL of the same shape) and the Secret's
// `token` a personal access token, sent as basic auth with an empty user.
// Without a token the controller's or spec.serviceAccountName's Azure
// identity is used: an Entra token for Azure DevOps, as a bearer token.
type azureDevOps struct {
	c                   *client
	base, project, repo string
	uid                 string
	auth                func(ctx context.Context) (string, error)
}

func newAzureDevOps(cfg Config, c *client) (Notifier, error) {
	u, err := url.Parse(cfg.Address)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("azuredevops provider: the address must be the repository's http(s) URL")
	}
	before, repo, ok := strings.Cut(strings.Trim(u.Path, "/"), "/_git/")
	i := strings.LastIndex(before, "/")
	if !ok || i < 0 || repo == "" || strings.Contains(repo, "/") {
		return nil, fmt.Errorf("azuredevops provider: the address %s must be …/<organization>/<project>/_git/<repository>", u.Host)
	}
	a := &azureDevOps{c: c, base: u.Scheme + "://" + u.Host + "/" + before[:i], project: before[i+1:], repo: repo, uid: cfg.ProviderUID}
	switch {
	case cfg.Token != "" && cfg.CloudIdentity != "":
		return nil, fmt.Errorf("azuredevops provider: the Secret's `token` cannot be combined with %s", cfg.CloudIdentity)
	case cfg.Token != "":
		basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(":"+cfg.Token))
		a.auth = func(context.Context) (string, error) { return basic, nil }
	case cfg.CloudToken != nil:
		a.auth = func(ctx context.Context) (string, error) {
			tok, err := cfg.CloudToken(ctx)
			return "Bearer " + tok, err
		}
	default:
		return nil, errors.New("azuredevops provider: the Secret's `token` (a personal access token) is required")
	}
	return a, nil
}

func (a *azureDevOps) Post(ctx context.Context, ev *eventv1.Event) error {
	sha, err := commitSHA(ev)
	if err != nil {
		return err
	}
	state := "succeeded"
	if isError(ev) {
		state = "failed"
	}
	id := commitStatusID(ctx, ev, a.uid)
	genre, name := "fluxcd", id
	payload := map[string]any{
		"state":       state,
		"description": description(ev),
		"context":     map[string]string{"genre": genre, "name": name},
	}
	u := fmt.Sprintf("%s/%s/_apis/git/repositories/%s/commits/%s/statuses?api-version=7.1",
		a.base, url.PathEscape(a.project), url.PathEscape(a.repo), sha)
	auth, err := a.auth(ctx)
	if err != nil {
		return fmt.Errorf("azuredevops provider: %w", err)
	}
	return a.c.postJSON(ctx, u, payload, map[string]string{"Authorization": auth})
}
