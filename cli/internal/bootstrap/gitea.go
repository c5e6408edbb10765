package bootstrap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"code.gitea.io/sdk/gitea"
)

// GiteaHost is the --hostname default, as in Flux.
const GiteaHost = "gitea.com"

// GiteaOptions say which Gitea repository bootstrap reconciles.
type GiteaOptions struct {
	// Owner is the user (Personal) or organization owning Repository.
	Owner, Repository string
	Personal          bool
	// Private is the visibility of a created repository, and of an
	// existing one when Reconcile is set.
	Private, Reconcile bool
	// Teams of the organization get access to the repository.
	Teams []string
	// Hostname is the Gitea host; APIURL, when set, is the server's
	// address instead of https://<Hostname>.
	Hostname, APIURL string
	// Token authenticates every call; CABundle verifies the server.
	Token    string
	CABundle []byte
	// Log receives progress lines.
	Log io.Writer
}

// Gitea is the Gitea REST API (through Gitea's Go SDK) as bootstrap uses it.
type Gitea struct {
	o    GiteaOptions
	http *http.Client
	base string
	c    *gitea.Client
}

var _ Provider = (*Gitea)(nil)

// NewGitea checks the options; the client is made at the first call, as
// Gitea's SDK asks the server for its version when it is made.
func NewGitea(o GiteaOptions) (*Gitea, error) {
	if o.Owner == "" || o.Repository == "" {
		return nil, errors.New("--owner and --repository are required")
	}
	if o.Personal && len(o.Teams) > 0 {
		return nil, errors.New("--team needs an organization: a --personal repository has no teams")
	}
	g := &Gitea{o: o, http: &http.Client{Timeout: 30 * time.Second}, base: o.APIURL}
	if g.base == "" {
		host := o.Hostname
		if host == "" {
			host = GiteaHost
		}
		g.base = "https://" + host
	}
	if len(o.CABundle) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(o.CABundle) {
			return nil, errors.New("--ca-file: no PEM certificate in it")
		}
		g.http.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	return g, nil
}

func (g *Gitea) client(ctx context.Context) (*gitea.Client, error) {
	if g.c == nil {
		c, err := gitea.NewClient(g.base, gitea.SetHTTPClient(g.http), gitea.SetToken(g.o.Token), gitea.SetContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("Gitea API %s: %w", g.base, err)
		}
		g.c = c
	}
	g.c.SetContext(ctx)
	return g.c, nil
}

func (g *Gitea) logf(format string, args ...any) {
	if g.o.Log != nil {
		fmt.Fprintf(g.o.Log, format+"\n", args...)
	}
}

// ReconcileRepository checks the token, the owner and the teams before it
// writes anything, then creates the repository or reconciles its
// visibility (with Reconcile), and gives the teams access.
func (g *Gitea) ReconcileRepository(ctx context.Context) (Repository, error) {
	o := g.o
	c, err := g.client(ctx)
	if err != nil {
		return Repository{}, err
	}
	user, resp, err := c.GetMyUserInfo()
	if err != nil {
		return Repository{}, giteaError(resp, err, "reading the token's user")
	}
	if o.Personal {
		_, resp, err = c.GetUserInfo(o.Owner)
	} else {
		_, resp, err = c.GetOrg(o.Owner)
	}
	if isGiteaStatus(resp, http.StatusNotFound) {
		if o.Personal {
			return Repository{}, fmt.Errorf("--owner %q: no such Gitea user", o.Owner)
		}
		return Repository{}, fmt.Errorf("--owner %q: no such Gitea organization (add --personal for a user account)", o.Owner)
	}
	if err != nil {
		return Repository{}, giteaError(resp, err, "reading owner "+o.Owner)
	}
	for _, team := range o.Teams {
		found, resp, err := c.SearchOrgTeams(o.Owner, &gitea.SearchTeamsOptions{Query: team})
		if err != nil {
			return Repository{}, giteaError(resp, err, "reading team "+team)
		}
		if !slices.ContainsFunc(found, func(t *gitea.Team) bool { return t.Name == team }) {
			return Repository{}, fmt.Errorf("--team %q: no such team in organization %q", team, o.Owner)
		}
	}

	full := o.Owner + "/" + o.Repository
	repo, resp, err := c.GetRepo(o.Owner, o.Repository)
	switch {
	case isGiteaStatus(resp, http.StatusNotFound):
		opt := gitea.CreateRepoOption{Name: o.Repository, Private: o.Private}
		if o.Personal {
			if !strings.EqualFold(user.UserName, o.Owner) {
				return Repository{}, fmt.Errorf("--owner %q: the token belongs to %q and can create repositories only for it", o.Owner, user.UserName)
			}
			repo, resp, err = c.CreateRepo(opt)
		} else {
			repo, resp, err = c.CreateOrgRepo(o.Owner, opt)
		}
		if err != nil {
			return Repository{}, giteaError(resp, err, "creating repository "+full)
		}
		g.logf("✔ repository %s created (%s)", full, visibility(o.Private))
	case err != nil:
		return Repository{}, giteaError(resp, err, "reading repository "+full)
	case repo.Private != o.Private && o.Reconcile:
		repo, resp, err = c.EditRepo(o.Owner, o.Repository, gitea.EditRepoOption{Private: &o.Private})
		if err != nil {
			return Repository{}, giteaError(resp, err, "changing the visibility of "+full)
		}
		g.logf("✔ repository %s made %s", full, visibility(o.Private))
	default:
		g.logf("✔ repository %s exists (%s)", full, visibility(repo.Private))
	}
	if len(o.Teams) > 0 {
		have, resp, err := c.GetRepoTeams(o.Owner, o.Repository)
		if err != nil {
			return Repository{}, giteaError(resp, err, "listing the repository's teams")
		}
		for _, team := range o.Teams {
			if slices.ContainsFunc(have, func(t *gitea.Team) bool { return t.Name == team }) {
				continue
			}
			if resp, err := c.AddRepoTeam(o.Owner, o.Repository, team); err != nil {
				return Repository{}, giteaError(resp, err, "giving team "+team+" access")
			}
			g.logf("✔ team %s has access", team)
		}
	}
	if repo.CloneURL == "" || repo.SSHURL == "" {
		return Repository{}, fmt.Errorf("Gitea returned no clone URL for %s", full)
	}
	return Repository{HTTPURL: repo.CloneURL, SSHURL: repo.SSHURL}, nil
}

// ReconcileDeployKey keeps one deploy key called name holding publicKey
// with the given access; a key of that name that differs is replaced.
func (g *Gitea) ReconcileDeployKey(ctx context.Context, name string, publicKey []byte, readOnly bool) (bool, error) {
	c, err := g.client(ctx)
	if err != nil {
		return false, err
	}
	want := authorizedKey(publicKey)
	opts := gitea.ListDeployKeysOptions{ListOptions: gitea.ListOptions{Page: 1, PageSize: 50}}
	var stale []int64
	for {
		keys, resp, err := c.ListDeployKeys(g.o.Owner, g.o.Repository, opts)
		if err != nil {
			return false, giteaError(resp, err, "listing deploy keys")
		}
		for _, k := range keys {
			if k.Title != name {
				continue
			}
			if authorizedKey([]byte(k.Key)) == want && k.ReadOnly == readOnly && len(stale) == 0 {
				return false, nil
			}
			stale = append(stale, k.ID)
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	for _, id := range stale {
		if resp, err := c.DeleteDeployKey(g.o.Owner, g.o.Repository, id); err != nil {
			return false, giteaError(resp, err, "removing the old deploy key")
		}
	}
	if _, resp, err := c.CreateDeployKey(g.o.Owner, g.o.Repository, gitea.CreateKeyOption{Title: name, Key: want, ReadOnly: readOnly}); err != nil {
		return false, giteaError(resp, err, "adding the deploy key")
	}
	return true, nil
}

func isGiteaStatus(resp *gitea.Response, code int) bool {
	return resp != nil && resp.Response != nil && resp.StatusCode == code
}

// giteaError says what failed in words a user acts on; it never includes
// the token.
func giteaError(resp *gitea.Response, err error, doing string) error {
	switch {
	case isGiteaStatus(resp, http.StatusUnauthorized):
		return fmt.Errorf("Gitea API: %s: the token was rejected (401): check GITEA_TOKEN", doing)
	case isGiteaStatus(resp, http.StatusForbidden):
		return fmt.Errorf("Gitea API: %s: the token lacks the permission (403)", doing)
	}
	return fmt.Errorf("Gitea API: %s: %w", doing, err)
}
