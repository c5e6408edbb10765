package bootstrap

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fluxcd/go-git-providers/stash"
	"github.com/go-logr/logr"
)

// BitbucketServerUser is the --username default, as in Flux: the account
// the HTTPS push and --token-auth authenticate as.
const BitbucketServerUser = "git"

// BitbucketServerOptions say which Bitbucket Server repository bootstrap
// reconciles.
type BitbucketServerOptions struct {
	// Owner is the user (Personal) or the project's name owning
	// Repository.
	Owner, Repository string
	Personal          bool
	// Private is the visibility of a created repository, and of an
	// existing one when Reconcile is set.
	Private, Reconcile bool
	// Groups get write access to the repository.
	Groups []string
	// Hostname is the server, a host or a URL (Bitbucket Server has no
	// default host).
	Hostname string
	// Username owns Token, which authenticates every call; CABundle
	// verifies the server.
	Username, Token string
	CABundle        []byte
	// Log receives progress lines.
	Log io.Writer
}

// BitbucketServer is Bitbucket Server's REST API, through the Bitbucket
// Server ("stash") client of Flux's go-git-providers, as bootstrap uses it.
type BitbucketServer struct {
	o BitbucketServerOptions
	c *stash.Client
	// status is the HTTP status of the last answer: the client's errors
	// carry it only as text.
	status atomic.Int64
	// key and slug name the repository once ReconcileRepository found it.
	key, slug string
}

var _ Provider = (*BitbucketServer)(nil)

// NewBitbucketServer checks the options and makes the client.
func NewBitbucketServer(o BitbucketServerOptions) (*BitbucketServer, error) {
	switch {
	case o.Owner == "" || o.Repository == "":
		return nil, errors.New("--owner and --repository are required")
	case o.Hostname == "":
		return nil, errors.New("--hostname is required: Bitbucket Server has no default host")
	case o.Personal && len(o.Groups) > 0:
		return nil, errors.New("--group needs a project: a --personal repository has no group permissions")
	}
	if o.Username == "" {
		o.Username = BitbucketServerUser
	}
	b := &BitbucketServer{o: o}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if len(o.CABundle) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(o.CABundle) {
			return nil, errors.New("--ca-file: no PEM certificate in it")
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: statusRecorder{next: transport, status: &b.status}}
	c, err := stash.NewClient(hc, o.Hostname, nil, logr.Discard(), stash.WithAuth(o.Username, o.Token))
	if err != nil {
		return nil, fmt.Errorf("Bitbucket Server API %s: %w", o.Hostname, err)
	}
	b.c = c
	return b, nil
}

// statusRecorder keeps the status code of each answer.
type statusRecorder struct {
	next   http.RoundTripper
	status *atomic.Int64
}

func (s statusRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	if resp != nil {
		s.status.Store(int64(resp.StatusCode))
	}
	return resp, err
}

func (b *BitbucketServer) logf(format string, args ...any) {
	if b.o.Log != nil {
		fmt.Fprintf(b.o.Log, format+"\n", args...)
	}
}

// ReconcileRepository checks the token, the owner and the groups before it
// writes anything, then creates the repository or reconciles its
// visibility (with Reconcile), and gives the groups write access.
func (b *BitbucketServer) ReconcileRepository(ctx context.Context) (Repository, error) {
	o := b.o
	if _, err := b.c.Users.Get(ctx, o.Username); err != nil {
		if errors.Is(err, stash.ErrNotFound) {
			return Repository{}, fmt.Errorf("--username %q: no such Bitbucket Server user", o.Username)
		}
		return Repository{}, b.apiError(err, "reading the token's user "+o.Username)
	}
	key, err := b.projectKey(ctx)
	if err != nil {
		return Repository{}, err
	}
	if err := b.checkGroups(ctx); err != nil {
		return Repository{}, err
	}

	full := key + "/" + o.Repository
	repo, err := b.c.Repositories.Get(ctx, key, o.Repository)
	switch {
	case errors.Is(err, stash.ErrNotFound):
		if o.Personal && !strings.EqualFold(o.Owner, o.Username) {
			return Repository{}, fmt.Errorf("--owner %q: the token belongs to %q and can create repositories only for it", o.Owner, o.Username)
		}
		repo, err = b.c.Repositories.Create(ctx, key, &stash.Repository{Name: o.Repository, ScmID: "git", Public: !o.Private})
		if err != nil {
			return Repository{}, b.apiError(err, "creating repository "+full)
		}
		b.logf("✔ repository %s created (%s)", full, visibility(o.Private))
	case err != nil:
		return Repository{}, b.apiError(err, "reading repository "+full)
	case repo.Public == o.Private && o.Reconcile:
		if err := b.setPublic(ctx, key, repo.Slug, !o.Private); err != nil {
			return Repository{}, b.apiError(err, "changing the visibility of "+full)
		}
		b.logf("✔ repository %s made %s", full, visibility(o.Private))
	default:
		b.logf("✔ repository %s exists (%s)", full, visibility(!repo.Public))
	}
	b.key, b.slug = key, repo.Slug
	if err := b.grantGroups(ctx, key, repo.Slug); err != nil {
		return Repository{}, err
	}
	var out Repository
	for _, c := range repo.Links.Clone {
		switch c.Name {
		case "http", "https":
			out.HTTPURL = c.Href
		case "ssh":
			out.SSHURL = c.Href
		}
	}
	if out.HTTPURL == "" || out.SSHURL == "" {
		return Repository{}, fmt.Errorf("Bitbucket Server returned no clone links for %s", full)
	}
	return out, nil
}

// projectKey is the key of the project holding the repository: ~USER for
// a user's, else the key of the project named Owner.
func (b *BitbucketServer) projectKey(ctx context.Context) (string, error) {
	o := b.o
	if o.Personal {
		_, err := b.c.Users.Get(ctx, o.Owner)
		if errors.Is(err, stash.ErrNotFound) {
			return "", fmt.Errorf("--owner %q: no such Bitbucket Server user", o.Owner)
		}
		if err != nil {
			return "", b.apiError(err, "reading user "+o.Owner)
		}
		return "~" + o.Owner, nil
	}
	p, err := b.c.Projects.Get(ctx, o.Owner)
	if errors.Is(err, stash.ErrNotFound) {
		return "", fmt.Errorf("--owner %q: no such Bitbucket Server project (add --personal for a user account)", o.Owner)
	}
	if err != nil {
		return "", b.apiError(err, "reading project "+o.Owner)
	}
	return p.Key, nil
}

// checkGroups fails unless every --group exists.
func (b *BitbucketServer) checkGroups(ctx context.Context) error {
	if len(b.o.Groups) == 0 {
		return nil
	}
	var have []string
	opts := &stash.PagingOptions{Limit: 100}
	for {
		page, err := b.c.Groups.List(ctx, opts)
		if err != nil {
			return b.apiError(err, "listing groups")
		}
		for _, g := range page.Groups {
			have = append(have, g.Name)
		}
		if page.IsLastPage {
			break
		}
		opts.Start = page.NextPageStart
	}
	for _, g := range b.o.Groups {
		if !slices.Contains(have, g) {
			return fmt.Errorf("--group %q: no such Bitbucket Server group", g)
		}
	}
	return nil
}

// grantGroups gives each group without access REPO_WRITE, as Flux does.
func (b *BitbucketServer) grantGroups(ctx context.Context, key, slug string) error {
	if len(b.o.Groups) == 0 {
		return nil
	}
	have, err := b.c.Repositories.AllGroupsPermission(ctx, key, slug)
	if err != nil {
		return b.apiError(err, "listing the repository's group permissions")
	}
	for _, g := range b.o.Groups {
		if slices.ContainsFunc(have, func(p *stash.RepositoryGroupPermission) bool { return p.Group.Name == g }) {
			continue
		}
		perm := &stash.RepositoryGroupPermission{Permission: "REPO_WRITE"}
		perm.Group.Name = g
		if err := b.c.Repositories.UpdateRepositoryGroupPermission(ctx, key, slug, perm); err != nil {
			return b.apiError(err, "giving group "+g+" access")
		}
		b.logf("✔ group %s has write access", g)
	}
	return nil
}

// setPublic changes the visibility with the client's own request: its
// Repository type drops "public": false from the body, so Update cannot
// make a repository private.
func (b *BitbucketServer) setPublic(ctx context.Context, key, slug string, public bool) error {
	body, err := json.Marshal(map[string]any{"public": public})
	if err != nil {
		return err
	}
	req, err := b.c.NewRequest(ctx, http.MethodPut, "/rest/api/1.0/projects/"+key+"/repos/"+slug,
		stash.WithBody(bytes.NewReader(body)), stash.WithHeader(http.Header{"Content-Type": []string{"application/json"}}))
	if err != nil {
		return err
	}
	_, resp, err := b.c.Do(req)
	if err == nil && resp != nil && resp.StatusCode >= 300 {
		err = fmt.Errorf("%s", resp.Status)
	}
	return err
}

// ReconcileDeployKey keeps one access key labelled name holding publicKey
// with the given permission; a key of that label that differs is replaced.
func (b *BitbucketServer) ReconcileDeployKey(ctx context.Context, name string, publicKey []byte, readOnly bool) (bool, error) {
	key, slug := b.key, b.slug
	if key == "" {
		var err error
		if key, err = b.projectKey(ctx); err != nil {
			return false, err
		}
		slug = b.o.Repository
	}
	perm := "REPO_WRITE"
	if readOnly {
		perm = "REPO_READ"
	}
	want := authorizedKey(publicKey)
	all, err := b.c.DeployKeys.All(ctx, key, slug)
	if err != nil {
		return false, b.apiError(err, "listing access keys")
	}
	var stale []int
	for _, k := range all {
		if k.Key.Label != name {
			continue
		}
		if authorizedKey([]byte(k.Key.Text)) == want && k.Permission == perm && len(stale) == 0 {
			return false, nil
		}
		stale = append(stale, k.Key.ID)
	}
	for _, id := range stale {
		if err := b.c.DeployKeys.Delete(ctx, key, slug, id); err != nil {
			return false, b.apiError(err, "removing the old access key")
		}
	}
	dk := &stash.DeployKey{Key: stash.Key{Label: name, Text: want}, Permission: perm}
	dk.Repository.Slug, dk.Repository.Project.Key = slug, key
	if _, err := b.c.DeployKeys.Create(ctx, dk); err != nil {
		return false, b.apiError(err, "adding the access key")
	}
	return true, nil
}

// apiError says what failed in words a user acts on; it never includes
// the token.
func (b *BitbucketServer) apiError(err error, doing string) error {
	switch b.status.Load() {
	case http.StatusUnauthorized:
		return fmt.Errorf("Bitbucket Server API: %s: the token was rejected (401): check BITBUCKET_TOKEN and --username", doing)
	case http.StatusForbidden:
		return fmt.Errorf("Bitbucket Server API: %s: the token lacks the permission (403)", doing)
	}
	return fmt.Errorf("Bitbucket Server API: %s: %w", doing, err)
}
