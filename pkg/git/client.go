package git

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
	"golang.org/x/crypto/ssh/knownhosts"
)

// AuthError means the remote refused the credentials, or the SSH host key
// is unknown or does not match. Host names the remote, never the secret.
type AuthError struct {
	// Host is the remote host.
	Host string
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *AuthError) Error() string {
	return fmt.Sprintf("authentication to %s failed: %v", e.Host, e.Err)
}

// Unwrap returns the cause.
func (e *AuthError) Unwrap() error { return e.Err }

// IsAuthError reports whether err is an *AuthError.
func IsAuthError(err error) bool {
	var e *AuthError
	return errors.As(err, &e)
}

// SizeLimitError means a fetch or a checkout exceeded CloneOptions.MaxBytes.
type SizeLimitError struct {
	// Limit is the configured maximum in bytes.
	Limit int64
	// Fetch reports that the remote sent more than Limit bytes and the
	// fetch was stopped; otherwise the checked-out files exceed it.
	Fetch bool
}

// Error implements error.
func (e *SizeLimitError) Error() string {
	if e.Fetch {
		return fmt.Sprintf("fetch stopped: the remote sent more than the size limit of %d bytes", e.Limit)
	}
	return fmt.Sprintf("repository content exceeds the size limit of %d bytes", e.Limit)
}

// Commit describes the checked-out commit.
type Commit struct {
	// Hash is the commit hex.
	Hash string
	// Revision is Flux's revision string (see Resolution.Revision).
	Revision string
	// Message is the full commit message.
	Message string
	// Author is "Name <email>".
	Author string
	// When is the committer time.
	When time.Time
	// Signed holds the commit's signature for Verify.
	Signed Signed
	// Tag is the annotated tag checked out, if any.
	Tag *Tag
}

// Subject returns the first line of the commit message.
func (c *Commit) Subject() string {
	s, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
	return s
}

// ListRefs lists the remote's branches and tags (one ref advertisement:
// for smart HTTP a GET of info/refs). Annotated tags are peeled to their
// commit.
func ListRefs(ctx context.Context, u *URL, auth *Auth) ([]RemoteRef, error) {
	am, err := auth.transportAuth(u)
	if err != nil {
		return nil, err
	}
	remote := gogit.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{u.String()}})
	list, err := remote.ListContext(ctx, &gogit.ListOptions{
		Auth: am, CABundle: auth.caBundle(), ProxyOptions: auth.proxyOptions(), PeelingOption: gogit.AppendPeeled,
	})
	if err != nil {
		return nil, classify(u, "list references", err)
	}
	byName := map[string]string{}
	for _, r := range list {
		if r.Type() != plumbing.HashReference {
			continue
		}
		name := r.Name().String()
		if base, ok := strings.CutSuffix(name, "^{}"); ok {
			byName[base] = r.Hash().String() // the peeled commit wins
			continue
		}
		if _, seen := byName[name]; !seen {
			byName[name] = r.Hash().String()
		}
	}
	out := make([]RemoteRef, 0, len(byName))
	for n, c := range byName {
		out = append(out, RemoteRef{Name: n, Commit: c})
	}
	return out, nil
}

// CloneOptions configures Clone.
type CloneOptions struct {
	// Auth holds the credentials; nil is anonymous.
	Auth *Auth
	// Ref selects what to check out.
	Ref Reference
	// Resolution, when set, is Ref already resolved (by Resolve on a
	// listing), which saves Clone its own ref listing.
	Resolution *Resolution
	// MaxBytes, when > 0, stops fetching once the remote (or remotes,
	// with submodules) has sent more than this in total, and refuses a
	// checkout whose files exceed it.
	MaxBytes int64
	// RecurseSubmodules also checks out submodules, recursively.
	RecurseSubmodules bool
}

// Clone fetches the selected commit into dir (created if needed; it should
// be empty) and checks it out, keeping .git so the caller may commit and
// Push. Branches, tags and refs are fetched shallow (depth 1); a commit
// with a branch is searched in the full history of that branch; a commit
// alone is fetched by its hash at depth 1, or, when the server refuses
// fetches by hash, searched in every branch and tag.
func Clone(ctx context.Context, u *URL, dir string, o CloneOptions) (*Commit, error) {
	res := o.Resolution
	if res == nil {
		var refs []RemoteRef
		if o.Ref.Kind() != "commit" {
			var err error
			if refs, err = ListRefs(ctx, u, o.Auth); err != nil {
				return nil, err
			}
		}
		var err error
		if res, err = Resolve(o.Ref, refs); err != nil {
			return nil, err
		}
	}
	am, err := o.Auth.transportAuth(u)
	if err != nil {
		return nil, err
	}
	budget := &fetchBudget{limit: o.MaxBytes}
	repo, err := initCheckout(dir, budget)
	if err != nil {
		return nil, fmt.Errorf("init checkout: %w", err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{u.String()}}); err != nil {
		return nil, fmt.Errorf("init checkout: %w", err)
	}
	fo := &gogit.FetchOptions{
		RemoteName: "origin", Auth: am, CABundle: o.Auth.caBundle(), ProxyOptions: o.Auth.proxyOptions(), Tags: gogit.NoTags,
	}
	if err := fetch(ctx, repo, u, res, fo); err != nil {
		return nil, err
	}
	hash := plumbing.NewHash(res.Commit)
	revision := res.Revision
	if res.Shallow {
		// The ref may have moved since it was listed (or was not listed,
		// see Unresolved): check out what was actually fetched, and say
		// so in the revision.
		if fetched, err := peeledCommit(repo, res.RefName); err == nil && (fetched != hash || res.Commit == "") {
			hash = fetched
			revision = res.Short + "@" + algo(hash.String()) + ":" + hash.String()
		}
	}
	commit, err := repo.CommitObject(hash)
	if err != nil {
		where := "the remote"
		if res.RefName != "" {
			where = "'" + res.RefName + "'"
		}
		return nil, &RefNotFoundError{Ref: fmt.Sprintf("commit '%s' in %s", res.Commit, where)}
	}
	wt, err := repo.Worktree()
	if err != nil {
		return nil, fmt.Errorf("checkout: %w", err)
	}
	if err := wt.Checkout(&gogit.CheckoutOptions{Hash: hash, Force: true}); err != nil {
		return nil, fmt.Errorf("checkout %s: %w", hash, err)
	}
	if o.RecurseSubmodules {
		if err := updateSubmodules(ctx, repo, dir, hash, u, o.Auth, budget, 1); err != nil {
			return nil, err
		}
	}
	if o.MaxBytes > 0 {
		if err := checkSize(dir, o.MaxBytes); err != nil {
			return nil, err
		}
	}
	info := commitInfo(commit, revision)
	if info.Signed, err = signedCommit(commit); err != nil {
		return nil, fmt.Errorf("reading commit signature: %w", err)
	}
	if tagName, ok := strings.CutPrefix(res.RefName, "refs/tags/"); ok {
		if ref, err := repo.Reference(plumbing.ReferenceName(res.RefName), true); err == nil {
			if t, err := repo.TagObject(ref.Hash()); err == nil {
				info.Tag = &Tag{Name: tagName, Hash: t.Hash.String()}
				if info.Tag.Signed, err = signedTag(t); err != nil {
					return nil, fmt.Errorf("reading tag signature: %w", err)
				}
			}
		}
	}
	return info, nil
}

// fetch fetches what res needs into repo: its ref (shallow when
// res.Shallow), or a lone commit by hash at depth 1, falling back to every
// branch and tag when the server does not serve commits by hash.
func fetch(ctx context.Context, repo *gogit.Repository, u *URL, res *Resolution, fo *gogit.FetchOptions) error {
	switch {
	case res.RefName != "":
		fo.RefSpecs = []config.RefSpec{config.RefSpec("+" + res.RefName + ":" + res.RefName)}
		if res.Shallow {
			fo.Depth = 1
		}
	case res.Commit != "":
		byHash := *fo
		byHash.RefSpecs = []config.RefSpec{config.RefSpec(res.Commit + ":" + commitRef)}
		byHash.Depth = 1
		err := fetchErr(u, res, repo.FetchContext(ctx, &byHash))
		if err == nil || !refusedByHash(err) {
			return err
		}
		fallthrough
	default:
		fo.RefSpecs = []config.RefSpec{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"}
	}
	return fetchErr(u, res, repo.FetchContext(ctx, fo))
}

// commitRef is the local ref a commit fetched by hash is stored under.
const commitRef = "refs/gotk/commit"

// refusedByHash reports a server that does not serve this commit by hash:
// it lacks the allow-*-sha1-in-want capabilities, or the commit is not one
// it allows (or not there at all, which the full fetch then reports).
func refusedByHash(err error) bool {
	return errors.Is(err, gogit.ErrExactSHA1NotSupported) || strings.Contains(err.Error(), "not our ref") ||
		IsRefNotFound(err)
}

func fetchErr(u *URL, res *Resolution, err error) error {
	var size *SizeLimitError
	switch {
	case err == nil, errors.Is(err, gogit.NoErrAlreadyUpToDate):
		return nil
	case errors.As(err, &size):
		return size
	case strings.Contains(err.Error(), "couldn't find remote ref"):
		return &RefNotFoundError{Ref: describeRef(res)}
	}
	return classify(u, "fetch", err)
}

// describeRef names what res fetches the way the spec said it.
func describeRef(res *Resolution) string {
	switch {
	case res.Short != res.RefName && strings.HasPrefix(res.RefName, "refs/heads/"):
		return fmt.Sprintf("branch '%s'", res.Short)
	case res.Short != res.RefName && strings.HasPrefix(res.RefName, "refs/tags/"):
		return fmt.Sprintf("tag '%s'", res.Short)
	}
	return fmt.Sprintf("ref '%s'", res.RefName)
}

func peeledCommit(repo *gogit.Repository, refName string) (plumbing.Hash, error) {
	ref, err := repo.Reference(plumbing.ReferenceName(refName), true)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if tag, err := repo.TagObject(ref.Hash()); err == nil {
		c, err := tag.Commit()
		if err != nil {
			return plumbing.ZeroHash, err
		}
		return c.Hash, nil
	}
	return ref.Hash(), nil
}

func commitInfo(c *object.Commit, revision string) *Commit {
	return &Commit{
		Hash:     c.Hash.String(),
		Revision: revision,
		Message:  c.Message,
		Author:   fmt.Sprintf("%s <%s>", c.Author.Name, c.Author.Email),
		When:     c.Committer.When,
	}
}

// checkSize walks the checkout (without .git) and fails past max bytes.
func checkSize(dir string, max int64) error {
	var total int64
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			if total += info.Size(); total > max {
				return &SizeLimitError{Limit: max}
			}
		}
		return nil
	})
}

// PushOptions configures Push.
type PushOptions struct {
	// Auth holds the credentials; nil is anonymous.
	Auth *Auth
	// RefSpecs say what to push, e.g. "refs/heads/main:refs/heads/main".
	RefSpecs []string
	// Force allows non-fast-forward updates.
	Force bool
	// Options are push options (git push -o).
	Options map[string]string
}

// Push pushes from the repository in dir (made by Clone) to u. Nothing to
// push is not an error.
func Push(ctx context.Context, dir string, u *URL, o PushOptions) error {
	am, err := o.Auth.transportAuth(u)
	if err != nil {
		return err
	}
	repo, err := gogit.PlainOpen(dir)
	if err != nil {
		return fmt.Errorf("open repository: %w", err)
	}
	specs := make([]config.RefSpec, 0, len(o.RefSpecs))
	for _, s := range o.RefSpecs {
		rs := config.RefSpec(s)
		if err := rs.Validate(); err != nil {
			return fmt.Errorf("invalid refspec %q: %w", s, err)
		}
		specs = append(specs, rs)
	}
	err = repo.PushContext(ctx, &gogit.PushOptions{
		RemoteName: "origin", RemoteURL: u.String(), RefSpecs: specs, Auth: am, Force: o.Force,
		CABundle: o.Auth.caBundle(), ProxyOptions: o.Auth.proxyOptions(), Options: o.Options,
	})
	if err != nil && !errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return classify(u, "push", err)
	}
	return nil
}

func (a *Auth) caBundle() []byte {
	if a == nil {
		return nil
	}
	return a.CABundle
}

func (a *Auth) proxyOptions() transport.ProxyOptions {
	if a == nil || a.Proxy == nil {
		return transport.ProxyOptions{}
	}
	p := *a.Proxy
	p.User = nil
	o := transport.ProxyOptions{URL: p.String()}
	if a.Proxy.User != nil {
		o.Username = a.Proxy.User.Username()
		o.Password, _ = a.Proxy.User.Password()
	}
	return o
}

// classify turns a go-git error into an *AuthError where credentials or
// host keys are the cause, and otherwise names the operation and remote.
func classify(u *URL, op string, err error) error {
	var keyErr *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	msg := err.Error()
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return &AuthError{Host: u.Host, Err: err}
	case errors.As(err, &keyErr):
		if len(keyErr.Want) == 0 {
			return &AuthError{Host: u.Host, Err: errors.New("host key is not in known_hosts")}
		}
		return &AuthError{Host: u.Host, Err: errors.New("host key does not match known_hosts")}
	case errors.As(err, &revoked):
		return &AuthError{Host: u.Host, Err: errors.New("host key is revoked")}
	case strings.Contains(msg, "unable to authenticate"), strings.Contains(msg, "knownhosts:"):
		return &AuthError{Host: u.Host, Err: err}
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("%s %s: repository not found", op, u.String())
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s %s: timed out: %w", op, u.String(), err)
	}
	return fmt.Errorf("%s %s: %w", op, u.String(), err)
}

// stripPath removes a temporary file name from an error message.
func stripPath(err error, path string) string {
	return strings.ReplaceAll(err.Error(), path, "known_hosts")
}
