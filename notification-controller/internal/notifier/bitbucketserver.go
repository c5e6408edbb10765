package notifier

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// bitbucketServer sets a build status through Bitbucket Server / Data
// Center's REST API (POST /rest/api/1.0/projects/{key}/repos/{slug}/commits/{sha}/builds).
// The address is the repository's clone URL (https://host[/context]/scm/KEY/slug.git)
// or its browse URL (…/projects/KEY/repos/slug); the Secret's `token` (an
// HTTP access token) or `username`/`password` authenticate.
type bitbucketServer struct {
	c                          *client
	api, project, slug, browse string
	auth, uid                  string
}

func newBitbucketServer(cfg Config, c *client) (Notifier, error) {
	u, err := url.Parse(cfg.Address)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("bitbucketserver provider: the address must be the repository's http(s) URL")
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	var prefix, project, slug string
	for i := range segs {
		switch {
		case segs[i] == "scm" && i+3 == len(segs):
			prefix, project, slug = strings.Join(segs[:i], "/"), segs[i+1], segs[i+2]
		case segs[i] == "projects" && i+4 <= len(segs) && segs[i+2] == "repos":
			prefix, project, slug = strings.Join(segs[:i], "/"), segs[i+1], segs[i+3]
		}
	}
	slug = strings.TrimSuffix(slug, ".git")
	if project == "" || slug == "" {
		return nil, fmt.Errorf("bitbucketserver provider: the address %s must be …/scm/<project>/<repo>.git or …/projects/<project>/repos/<repo>", u.Host)
	}
	base := u.Scheme + "://" + u.Host
	if prefix != "" {
		base += "/" + prefix
	}
	b := &bitbucketServer{c: c, api: base + "/rest/api/1.0", project: project, slug: slug,
		browse: base + "/projects/" + project + "/repos/" + slug, uid: cfg.ProviderUID}
	switch {
	case cfg.Token != "":
		b.auth = "Bearer " + cfg.Token
	case cfg.BasicUser != "" && cfg.BasicPassword != "":
		b.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.BasicUser+":"+cfg.BasicPassword))
	default:
		return nil, errors.New("bitbucketserver provider: the Secret's `token` or `username` and `password` are required")
	}
	return b, nil
}

func (b *bitbucketServer) Post(ctx context.Context, ev *eventv1.Event) error {
	sha, err := commitSHA(ev)
	if err != nil {
		return err
	}
	state := "SUCCESSFUL"
	if isError(ev) {
		state = "FAILED"
	}
	id := commitStatusID(ctx, ev, b.uid)
	// Build keys are limited in length; the hash keeps each status distinct.
	sum := sha256.Sum256([]byte(id))
	payload := map[string]string{
		"key":         hex.EncodeToString(sum[:20]),
		"name":        truncateStr(id, 255),
		"state":       state,
		"description": description(ev),
		"url":         b.browse,
	}
	u := fmt.Sprintf("%s/projects/%s/repos/%s/commits/%s/builds", b.api, url.PathEscape(b.project), url.PathEscape(b.slug), sha)
	return b.c.postJSON(ctx, u, payload, map[string]string{"Authorization": b.auth})
}
