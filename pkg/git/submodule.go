package git

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// maxSubmoduleDepth bounds nested submodules.
const maxSubmoduleDepth = 10

// updateSubmodules checks out the submodules recorded in commit (checked
// out in dir) at the commits it records, recursively. Each submodule is
// fetched like the parent, on checkout storage under its own directory:
// by hash at depth 1 where the server allows it, streamed to disk, and
// counted against the same budget, so the size limit bounds the parent
// and all its submodules together. Every submodule URL must be http(s) or
// ssh (relative URLs are resolved against the parent's), so a repository
// can never make the controller read local paths. The parent's
// credentials are sent only to the parent's own host; other hosts are
// fetched anonymously.
func updateSubmodules(ctx context.Context, repo *gogit.Repository, dir string, commit plumbing.Hash, parent *URL, auth *Auth, budget *fetchBudget, depth int) error {
	if depth > maxSubmoduleDepth {
		return fmt.Errorf("submodules nested deeper than %d levels", maxSubmoduleDepth)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return fmt.Errorf("reading submodules: %w", err)
	}
	subs, err := wt.Submodules()
	if err != nil {
		return fmt.Errorf("reading submodules: %w", err)
	}
	if len(subs) == 0 {
		return nil
	}
	c, err := repo.CommitObject(commit)
	if err != nil {
		return fmt.Errorf("reading submodules: %w", err)
	}
	tree, err := c.Tree()
	if err != nil {
		return fmt.Errorf("reading submodules: %w", err)
	}
	for _, s := range subs {
		sc := s.Config()
		if err := updateSubmodule(ctx, tree, dir, sc, parent, auth, budget, depth); err != nil {
			return fmt.Errorf("submodule %q: %w", sc.Name, err)
		}
	}
	return nil
}

// updateSubmodule clones one submodule at the commit tree records for it.
func updateSubmodule(ctx context.Context, tree *object.Tree, dir string, sc *config.Submodule, parent *URL, auth *Auth, budget *fetchBudget, depth int) error {
	if !filepath.IsLocal(filepath.FromSlash(sc.Path)) {
		return fmt.Errorf("path %q is outside the repository", sc.Path)
	}
	entry, err := tree.FindEntry(sc.Path)
	if err != nil || entry.Mode != filemode.Submodule {
		return fmt.Errorf("no commit recorded at path %q", sc.Path)
	}
	u, err := resolveSubmoduleURL(parent, sc.URL)
	if err != nil {
		return err
	}
	subAuth := &Auth{}
	if u.Host == parent.Host && u.Transport == parent.Transport {
		subAuth = auth
	}
	am, err := subAuth.transportAuth(u)
	if err != nil {
		return err
	}
	subDir := filepath.Join(dir, filepath.FromSlash(sc.Path))
	repo, err := initCheckout(subDir, budget)
	if err != nil {
		return fmt.Errorf("init checkout: %w", err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{u.String()}}); err != nil {
		return fmt.Errorf("init checkout: %w", err)
	}
	fo := &gogit.FetchOptions{
		RemoteName: "origin", Auth: am, CABundle: subAuth.caBundle(), ProxyOptions: subAuth.proxyOptions(), Tags: gogit.NoTags,
	}
	res := &Resolution{Commit: entry.Hash.String()}
	if err := fetch(ctx, repo, u, res, fo); err != nil {
		return err
	}
	if _, err := repo.CommitObject(entry.Hash); err != nil {
		return &RefNotFoundError{Ref: fmt.Sprintf("commit '%s' in %s", entry.Hash, u)}
	}
	swt, err := repo.Worktree()
	if err != nil {
		return fmt.Errorf("checkout: %w", err)
	}
	if err := swt.Checkout(&gogit.CheckoutOptions{Hash: entry.Hash, Force: true}); err != nil {
		return fmt.Errorf("checkout %s: %w", entry.Hash, err)
	}
	return updateSubmodules(ctx, repo, subDir, entry.Hash, u, subAuth, budget, depth+1)
}

// resolveSubmoduleURL parses a .gitmodules URL, resolving "./" and "../"
// against the parent URL as git does.
func resolveSubmoduleURL(parent *URL, raw string) (*URL, error) {
	if strings.HasPrefix(raw, "./") || strings.HasPrefix(raw, "../") {
		if parent.scp {
			return nil, fmt.Errorf("relative URL %q under an scp-like parent URL is not supported", raw)
		}
		base, err := url.Parse(strings.TrimSuffix(parent.String(), "/") + "/")
		if err != nil {
			return nil, err
		}
		rel, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("invalid relative URL %q", raw)
		}
		raw = base.ResolveReference(rel).String()
	}
	return ParseURL(raw)
}
