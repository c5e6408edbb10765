package bootstrap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/go-github/v84/github"
)

// GitHubHost is GitHub's public host name, the --hostname default.
const GitHubHost = "github.com"

// GitHubOptions say which GitHub repository bootstrap reconciles.
type GitHubOptions struct {
	// Owner is the user (Personal) or organization owning Repository.
	Owner, Repository string
	Personal          bool
	// Private is the visibility of a created repository, and of an
	// existing one when Reconcile is set.
	Private, Reconcile bool
	// Teams get access to the repository: "slug" (maintain) or
	// "slug:permission".
	Teams []string
	// Hostname is github.com or a GitHub Enterprise Server host; APIURL,
	// when set, is the API's address instead of the one derived from it.
	Hostname, APIURL string
	// Token authenticates every call; CABundle verifies the server.
	Token    string
	CABundle []byte
	// Log receives progress lines.
	Log io.Writer
}

// teamPermissions are the permissions GitHub grants a team on a repository.
var teamPermissions = []string{"pull", "triage", "push", "maintain", "admin"}

// GitHub is the GitHub REST API (through go-github) as bootstrap uses it.
type GitHub struct {
	o     GitHubOptions
	c     *github.Client
	teams map[string]string // slug → permission
}

var _ Provider = (*GitHub)(nil)

// NewGitHub checks the options and returns a client; it calls nothing yet.
func NewGitHub(o GitHubOptions) (*GitHub, error) {
	if o.Owner == "" || o.Repository == "" {
		return nil, errors.New("--owner and --repository are required")
	}
	g := &GitHub{o: o, teams: map[string]string{}}
	for _, t := range o.Teams {
		slug, perm, found := strings.Cut(t, ":")
		if !found {
			perm = "maintain"
		}
		if slug == "" || !slices.Contains(teamPermissions, perm) {
			return nil, fmt.Errorf("--team %q: want SLUG or SLUG:PERMISSION with PERMISSION one of %s", t, strings.Join(teamPermissions, ", "))
		}
		g.teams[slug] = perm
	}
	if o.Personal && len(g.teams) > 0 {
		return nil, errors.New("--team needs an organization: a --personal repository has no teams")
	}
	httpClient := &http.Client{Timeout: 30 * time.Second}
	if len(o.CABundle) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(o.CABundle) {
			return nil, errors.New("--ca-file: no PEM certificate in it")
		}
		httpClient.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	g.c = github.NewClient(httpClient).WithAuthToken(o.Token)
	switch {
	case o.APIURL != "":
		u, err := url.Parse(strings.TrimSuffix(o.APIURL, "/") + "/")
		if err != nil {
			return nil, fmt.Errorf("GitHub API URL: %w", err)
		}
		g.c.BaseURL = u
	case o.Hostname != "" && o.Hostname != GitHubHost:
		base := "https://" + o.Hostname + "/api/v3/"
		var err error
		if g.c, err = g.c.WithEnterpriseURLs(base, "https://"+o.Hostname+"/api/uploads/"); err != nil {
			return nil, fmt.Errorf("--hostname %q: %w", o.Hostname, err)
		}
	}
	return g, nil
}

func (g *GitHub) logf(format string, args ...any) {
	if g.o.Log != nil {
		fmt.Fprintf(g.o.Log, format+"\n", args...)
	}
}

// ReconcileRepository checks the token, the owner and the teams before it
// writes anything, then creates the repository or reconciles its
// visibility (with Reconcile), and gives the teams access.
func (g *GitHub) ReconcileRepository(ctx context.Context) (Repository, error) {
	o := g.o
	user, _, err := g.c.Users.Get(ctx, "")
	if err != nil {
		return Repository{}, apiError(err, "reading the token's user")
	}
	if o.Personal {
		_, _, err = g.c.Users.Get(ctx, o.Owner)
	} else {
		_, _, err = g.c.Organizations.Get(ctx, o.Owner)
	}
	if isStatus(err, http.StatusNotFound) {
		if o.Personal {
			return Repository{}, fmt.Errorf("--owner %q: no such GitHub user", o.Owner)
		}
		return Repository{}, fmt.Errorf("--owner %q: no such GitHub organization (add --personal for a user account)", o.Owner)
	}
	if err != nil {
		return Repository{}, apiError(err, "reading owner "+o.Owner)
	}
	for _, slug := range sortedKeys(g.teams) {
		if _, _, err := g.c.Teams.GetTeamBySlug(ctx, o.Owner, slug); err != nil {
			if isStatus(err, http.StatusNotFound) {
				return Repository{}, fmt.Errorf("--team %q: no such team in organization %q", slug, o.Owner)
			}
			return Repository{}, apiError(err, "reading team "+slug)
		}
	}

	full := o.Owner + "/" + o.Repository
	repo, _, err := g.c.Repositories.Get(ctx, o.Owner, o.Repository)
	switch {
	case isStatus(err, http.StatusNotFound):
		if o.Personal && !strings.EqualFold(user.GetLogin(), o.Owner) {
			return Repository{}, fmt.Errorf("--owner %q: the token belongs to %q and can create repositories only for it", o.Owner, user.GetLogin())
		}
		org := o.Owner
		if o.Personal {
			org = "" // POST /user/repos
		}
		repo, _, err = g.c.Repositories.Create(ctx, org, &github.Repository{Name: github.Ptr(o.Repository), Private: github.Ptr(o.Private)})
		if err != nil {
			return Repository{}, apiError(err, "creating repository "+full)
		}
		g.logf("✔ repository %s created (%s)", full, visibility(o.Private))
	case err != nil:
		return Repository{}, apiError(err, "reading repository "+full)
	case repo.GetPrivate() != o.Private && o.Reconcile:
		repo, _, err = g.c.Repositories.Edit(ctx, o.Owner, o.Repository, &github.Repository{Private: github.Ptr(o.Private)})
		if err != nil {
			return Repository{}, apiError(err, "changing the visibility of "+full)
		}
		g.logf("✔ repository %s made %s", full, visibility(o.Private))
	default:
		g.logf("✔ repository %s exists (%s)", full, visibility(repo.GetPrivate()))
	}
	if err := g.reconcileTeams(ctx); err != nil {
		return Repository{}, err
	}
	if repo.GetCloneURL() == "" || repo.GetSSHURL() == "" {
		return Repository{}, fmt.Errorf("GitHub returned no clone URL for %s", full)
	}
	return Repository{HTTPURL: repo.GetCloneURL(), SSHURL: repo.GetSSHURL()}, nil
}

// reconcileTeams grants each team its permission, writing only where the
// repository's team list differs.
func (g *GitHub) reconcileTeams(ctx context.Context) error {
	if len(g.teams) == 0 {
		return nil
	}
	have := map[string]string{}
	opts := &github.ListOptions{PerPage: 100}
	for {
		teams, resp, err := g.c.Repositories.ListTeams(ctx, g.o.Owner, g.o.Repository, opts)
		if err != nil {
			return apiError(err, "listing the repository's teams")
		}
		for _, t := range teams {
			have[t.GetSlug()] = t.GetPermission()
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	for _, slug := range sortedKeys(g.teams) {
		perm := g.teams[slug]
		if have[slug] == perm {
			continue
		}
		if _, err := g.c.Teams.AddTeamRepoBySlug(ctx, g.o.Owner, slug, g.o.Owner, g.o.Repository, &github.TeamAddTeamRepoOptions{Permission: perm}); err != nil {
			return apiError(err, "giving team "+slug+" access")
		}
		g.logf("✔ team %s has %s access", slug, perm)
	}
	return nil
}

// ReconcileDeployKey keeps one deploy key called name holding publicKey
// with the given access; a key of that name that differs is replaced.
func (g *GitHub) ReconcileDeployKey(ctx context.Context, name string, publicKey []byte, readOnly bool) (bool, error) {
	want := authorizedKey(publicKey)
	opts := &github.ListOptions{PerPage: 100}
	var stale []int64
	for {
		keys, resp, err := g.c.Repositories.ListKeys(ctx, g.o.Owner, g.o.Repository, opts)
		if err != nil {
			return false, apiError(err, "listing deploy keys")
		}
		for _, k := range keys {
			if k.GetTitle() != name {
				continue
			}
			if authorizedKey([]byte(k.GetKey())) == want && k.GetReadOnly() == readOnly && len(stale) == 0 {
				return false, nil
			}
			stale = append(stale, k.GetID())
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	for _, id := range stale {
		if _, err := g.c.Repositories.DeleteKey(ctx, g.o.Owner, g.o.Repository, id); err != nil {
			return false, apiError(err, "removing the old deploy key")
		}
	}
	key := &github.Key{Title: github.Ptr(name), Key: github.Ptr(want), ReadOnly: github.Ptr(readOnly)}
	if _, _, err := g.c.Repositories.CreateKey(ctx, g.o.Owner, g.o.Repository, key); err != nil {
		return false, apiError(err, "adding the deploy key")
	}
	return true, nil
}

// authorizedKey is the "type base64" part of an authorized_keys line, as
// GitHub stores it (without a comment).
func authorizedKey(line []byte) string {
	f := strings.Fields(string(line))
	if len(f) < 2 {
		return strings.TrimSpace(string(line))
	}
	return f[0] + " " + f[1]
}

func visibility(private bool) string {
	if private {
		return "private"
	}
	return "public"
}

func isStatus(err error, code int) bool {
	var e *github.ErrorResponse
	return errors.As(err, &e) && e.Response != nil && e.Response.StatusCode == code
}

// apiError says what failed in words a user acts on; it never includes the
// token.
func apiError(err error, doing string) error {
	var e *github.ErrorResponse
	if !errors.As(err, &e) || e.Response == nil {
		return fmt.Errorf("GitHub API: %s: %w", doing, err)
	}
	switch e.Response.StatusCode {
	case http.StatusUnauthorized:
		return fmt.Errorf("GitHub API: %s: the token was rejected (401 %s): check GITHUB_TOKEN", doing, e.Message)
	case http.StatusForbidden:
		return fmt.Errorf("GitHub API: %s: the token lacks the permission (403 %s)", doing, e.Message)
	}
	return fmt.Errorf("GitHub API: %s: %d %s", doing, e.Response.StatusCode, e.Message)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
