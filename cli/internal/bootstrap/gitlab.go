package bootstrap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// GitLabHost is GitLab's public host name, the --hostname default.
const GitLabHost = "gitlab.com"

// GitLabOptions say which GitLab project bootstrap reconciles.
type GitLabOptions struct {
	// Owner is the user (Personal) or group path owning Repository.
	Owner, Repository string
	Personal          bool
	// Private is the visibility of a created project, and of an existing
	// one when Reconcile is set.
	Private, Reconcile bool
	// Teams are group paths given maintainer access by sharing.
	Teams []string
	// Hostname is gitlab.com or a self-managed host; APIURL, when set, is
	// the API's address instead of https://<Hostname>/api/v4/.
	Hostname, APIURL string
	// Token authenticates every call; CABundle verifies the server.
	Token    string
	CABundle []byte
	// Log receives progress lines.
	Log io.Writer
}

// GitLab is the GitLab REST API (through client-go) as bootstrap uses it.
type GitLab struct {
	o GitLabOptions
	c *gitlab.Client
}

var _ Provider = (*GitLab)(nil)

// NewGitLab checks the options and returns a client; it calls nothing yet.
func NewGitLab(o GitLabOptions) (*GitLab, error) {
	if o.Owner == "" || o.Repository == "" {
		return nil, errors.New("--owner and --repository are required")
	}
	if o.Personal && len(o.Teams) > 0 {
		return nil, errors.New("--team needs a group: a --personal project is not shared with groups")
	}
	httpClient := &http.Client{Timeout: 30 * time.Second}
	if len(o.CABundle) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(o.CABundle) {
			return nil, errors.New("--ca-file: no PEM certificate in it")
		}
		httpClient.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	base := o.APIURL
	if base == "" {
		host := o.Hostname
		if host == "" {
			host = GitLabHost
		}
		base = "https://" + host + "/api/v4/"
	}
	// No retries: an error is reported at once, and a create is not sent twice.
	c, err := gitlab.NewClient(o.Token, gitlab.WithBaseURL(base), gitlab.WithHTTPClient(httpClient), gitlab.WithoutRetries())
	if err != nil {
		return nil, fmt.Errorf("GitLab API %s: %w", base, err)
	}
	return &GitLab{o: o, c: c}, nil
}

func (g *GitLab) logf(format string, args ...any) {
	if g.o.Log != nil {
		fmt.Fprintf(g.o.Log, format+"\n", args...)
	}
}

// ReconcileRepository checks the token, the owner and the groups to share
// with before it writes anything, then creates the project or reconciles
// its visibility (with Reconcile), and shares it with the groups.
func (g *GitLab) ReconcileRepository(ctx context.Context) (Repository, error) {
	o := g.o
	req := gitlab.WithContext(ctx)
	user, _, err := g.c.Users.CurrentUser(req)
	if err != nil {
		return Repository{}, gitLabError(err, "reading the token's user")
	}
	var namespaceID *int64
	if o.Personal {
		if !strings.EqualFold(user.Username, o.Owner) {
			users, _, err := g.c.Users.ListUsers(&gitlab.ListUsersOptions{Username: gitlab.Ptr(o.Owner)}, req)
			if err != nil {
				return Repository{}, gitLabError(err, "reading user "+o.Owner)
			}
			if len(users) == 0 {
				return Repository{}, fmt.Errorf("--owner %q: no such GitLab user", o.Owner)
			}
		}
	} else {
		group, _, err := g.c.Groups.GetGroup(o.Owner, nil, req)
		if isGitLabStatus(err, http.StatusNotFound) {
			return Repository{}, fmt.Errorf("--owner %q: no such GitLab group (add --personal for a user account)", o.Owner)
		}
		if err != nil {
			return Repository{}, gitLabError(err, "reading group "+o.Owner)
		}
		namespaceID = gitlab.Ptr(group.ID)
	}
	groups := map[string]int64{}
	for _, team := range o.Teams {
		group, _, err := g.c.Groups.GetGroup(team, nil, req)
		if isGitLabStatus(err, http.StatusNotFound) {
			return Repository{}, fmt.Errorf("--team %q: no such GitLab group", team)
		}
		if err != nil {
			return Repository{}, gitLabError(err, "reading group "+team)
		}
		groups[team] = group.ID
	}

	full := o.Owner + "/" + o.Repository
	vis := gitlab.PublicVisibility
	if o.Private {
		vis = gitlab.PrivateVisibility
	}
	project, _, err := g.c.Projects.GetProject(full, nil, req)
	switch {
	case isGitLabStatus(err, http.StatusNotFound):
		if o.Personal && !strings.EqualFold(user.Username, o.Owner) {
			return Repository{}, fmt.Errorf("--owner %q: the token belongs to %q and can create projects only for it", o.Owner, user.Username)
		}
		project, _, err = g.c.Projects.CreateProject(&gitlab.CreateProjectOptions{
			Name: gitlab.Ptr(o.Repository), Path: gitlab.Ptr(o.Repository), NamespaceID: namespaceID, Visibility: gitlab.Ptr(vis),
		}, req)
		if err != nil {
			return Repository{}, gitLabError(err, "creating project "+full)
		}
		g.logf("✔ project %s created (%s)", full, vis)
	case err != nil:
		return Repository{}, gitLabError(err, "reading project "+full)
	case project.Visibility != vis && o.Reconcile:
		project, _, err = g.c.Projects.EditProject(full, &gitlab.EditProjectOptions{Visibility: gitlab.Ptr(vis)}, req)
		if err != nil {
			return Repository{}, gitLabError(err, "changing the visibility of "+full)
		}
		g.logf("✔ project %s made %s", full, vis)
	default:
		g.logf("✔ project %s exists (%s)", full, project.Visibility)
	}
	shared := map[int64]bool{}
	for _, s := range project.SharedWithGroups {
		shared[s.GroupID] = true
	}
	for _, team := range o.Teams {
		if shared[groups[team]] {
			continue
		}
		if _, err := g.c.Projects.ShareProjectWithGroup(full, &gitlab.ShareWithGroupOptions{
			GroupID: gitlab.Ptr(groups[team]), GroupAccess: gitlab.Ptr(gitlab.MaintainerPermissions),
		}, req); err != nil {
			return Repository{}, gitLabError(err, "sharing with group "+team)
		}
		g.logf("✔ group %s has maintainer access", team)
	}
	if project.HTTPURLToRepo == "" || project.SSHURLToRepo == "" {
		return Repository{}, fmt.Errorf("GitLab returned no clone URL for %s", full)
	}
	return Repository{HTTPURL: project.HTTPURLToRepo, SSHURL: project.SSHURLToRepo}, nil
}

// ReconcileDeployKey keeps one deploy key called name holding publicKey
// with the given access; a key of that name that differs is replaced.
func (g *GitLab) ReconcileDeployKey(ctx context.Context, name string, publicKey []byte, readOnly bool) (bool, error) {
	req := gitlab.WithContext(ctx)
	full := g.o.Owner + "/" + g.o.Repository
	want := authorizedKey(publicKey)
	opts := &gitlab.ListProjectDeployKeysOptions{ListOptions: gitlab.ListOptions{PerPage: 100}}
	var stale []int64
	for {
		keys, resp, err := g.c.DeployKeys.ListProjectDeployKeys(full, opts, req)
		if err != nil {
			return false, gitLabError(err, "listing deploy keys")
		}
		for _, k := range keys {
			if k.Title != name {
				continue
			}
			if authorizedKey([]byte(k.Key)) == want && k.CanPush == !readOnly && len(stale) == 0 {
				return false, nil
			}
			stale = append(stale, k.ID)
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	for _, id := range stale {
		if _, err := g.c.DeployKeys.DeleteDeployKey(full, id, req); err != nil {
			return false, gitLabError(err, "removing the old deploy key")
		}
	}
	if _, _, err := g.c.DeployKeys.AddDeployKey(full, &gitlab.AddDeployKeyOptions{
		Title: gitlab.Ptr(name), Key: gitlab.Ptr(want), CanPush: gitlab.Ptr(!readOnly),
	}, req); err != nil {
		return false, gitLabError(err, "adding the deploy key")
	}
	return true, nil
}

func isGitLabStatus(err error, code int) bool {
	var e *gitlab.ErrorResponse
	return errors.As(err, &e) && e.StatusCode == code
}

// gitLabError says what failed in words a user acts on; it never includes
// the token.
func gitLabError(err error, doing string) error {
	var e *gitlab.ErrorResponse
	if !errors.As(err, &e) || e.StatusCode == 0 {
		return fmt.Errorf("GitLab API: %s: %w", doing, err)
	}
	switch e.StatusCode {
	case http.StatusUnauthorized:
		return fmt.Errorf("GitLab API: %s: the token was rejected (401): check GITLAB_TOKEN", doing)
	case http.StatusForbidden:
		return fmt.Errorf("GitLab API: %s: the token lacks the permission (403)", doing)
	}
	return fmt.Errorf("GitLab API: %s: %d %s", doing, e.StatusCode, e.Message)
}
