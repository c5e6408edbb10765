package git

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// maxSubmoduleDepth bounds nested submodules.
const maxSubmoduleDepth = 10

// updateSubmodules checks out the submodules of wt at the commits the
// parent records, recursively. Every submodule URL must be http(s) or ssh
// (relative URLs are resolved against the parent's), so a repository can
// never make the controller read local paths. The parent's credentials
// are sent only to the parent's own host; other hosts are fetched
// anonymously. go-git fetches submodules without the CA bundle or proxy.
func updateSubmodules(ctx context.Context, wt *gogit.Worktree, parent *URL, auth *Auth, depth int) error {
	if depth > maxSubmoduleDepth {
		return fmt.Errorf("submodules nested deeper than %d levels", maxSubmoduleDepth)
	}
	subs, err := wt.Submodules()
	if err != nil {
		return fmt.Errorf("reading submodules: %w", err)
	}
	for _, s := range subs {
		c := s.Config()
		su, err := resolveSubmoduleURL(parent, c.URL)
		if err != nil {
			return fmt.Errorf("submodule %q: %w", c.Name, err)
		}
		c.URL = su.String()
		var am transport.AuthMethod
		subAuth := &Auth{}
		if su.Host == parent.Host && su.Transport == parent.Transport {
			subAuth = auth
		}
		if am, err = subAuth.transportAuth(su); err != nil {
			return fmt.Errorf("submodule %q: %w", c.Name, err)
		}
		if err := s.UpdateContext(ctx, &gogit.SubmoduleUpdateOptions{Init: true, Auth: am}); err != nil {
			return fmt.Errorf("submodule %q: %w", c.Name, classify(su, "fetch", err))
		}
		r, err := s.Repository()
		if err != nil {
			return fmt.Errorf("submodule %q: %w", c.Name, err)
		}
		swt, err := r.Worktree()
		if err != nil {
			return fmt.Errorf("submodule %q: %w", c.Name, err)
		}
		if err := updateSubmodules(ctx, swt, su, subAuth, depth+1); err != nil {
			return fmt.Errorf("submodule %q: %w", c.Name, err)
		}
	}
	return nil
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
