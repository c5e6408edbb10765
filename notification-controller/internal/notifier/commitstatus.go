package notifier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// repo is a Git hosting repository parsed from a Provider address.
type repo struct {
	// scheme and host of the web address; API bases derive from them.
	scheme, host string
	// path is owner/name (GitLab: group/subgroup/name), without .git.
	path string
}

// parseRepo reads https://host/owner/name(.git). Providers in tests point
// at a loopback server with the same shape; the host decides the API base
// (see each provider), which is how self-hosted instances work too.
func parseRepo(providerType, address string, minSegments int) (repo, error) {
	u, err := url.Parse(address)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return repo{}, fmt.Errorf("%s provider: the address must be the repository's http(s) URL", providerType)
	}
	p := strings.TrimSuffix(strings.Trim(u.Path, "/"), ".git")
	segs := strings.Split(p, "/")
	if p == "" || len(segs) < minSegments {
		return repo{}, fmt.Errorf("%s provider: the address %s must name owner and repository", providerType, u.Host)
	}
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return repo{}, fmt.Errorf("%s provider: the repository path is invalid", providerType)
		}
	}
	return repo{scheme: u.Scheme, host: u.Host, path: p}, nil
}

func (r repo) base() string { return r.scheme + "://" + r.host }

func (r repo) ownerName() (string, string) {
	i := strings.LastIndex(r.path, "/")
	return r.path[:i], r.path[i+1:]
}

// commitSHA extracts the commit from the event's revision metadata:
// `main@sha1:<hex>`, `sha1:<hex>`, the legacy `main/<hex>`, or a bare hex.
func commitSHA(ev *eventv1.Event) (string, error) {
	rev, ok := ev.GetRevision()
	if !ok || rev == "" {
		return "", errors.New("the event has no revision metadata to set a commit status on")
	}
	sha := rev
	if i := strings.LastIndex(sha, "@"); i >= 0 {
		sha = sha[i+1:]
	}
	if i := strings.LastIndex(sha, ":"); i >= 0 {
		sha = sha[i+1:]
	}
	if i := strings.LastIndex(sha, "/"); i >= 0 {
		sha = sha[i+1:]
	}
	if (len(sha) != 40 && len(sha) != 64) || strings.Trim(strings.ToLower(sha), "0123456789abcdef") != "" {
		return "", fmt.Errorf("revision %q does not name a Git commit", truncateStr(rev, 80))
	}
	return strings.ToLower(sha), nil
}

type statusIDKey struct{}

// WithCommitStatusID carries the identifier a Provider's commitStatusExpr
// gave for this delivery; commit status providers use it instead of
// their default.
func WithCommitStatusID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, statusIDKey{}, id)
}

// commitStatusID is the identifier from WithCommitStatusID, or statusID.
func commitStatusID(ctx context.Context, ev *eventv1.Event, providerUID string) string {
	if id, ok := ctx.Value(statusIDKey{}).(string); ok && id != "" {
		return id
	}
	return statusID(ev, providerUID)
}

// statusID names the status so each object (and Provider) keeps its own
// line on the commit: kustomization/apps/<8 hex of the Provider UID>.
func statusID(ev *eventv1.Event, providerUID string) string {
	id := strings.ToLower(ev.InvolvedObject.Kind) + "/" + ev.InvolvedObject.Name
	if providerUID != "" {
		sum := sha256.Sum256([]byte(providerUID))
		id += "/" + hex.EncodeToString(sum[:4])
	}
	return id
}

// description fits the message in the hosts' 140-character limit.
func description(ev *eventv1.Event) string { return truncateStr(ev.Message, 140) }

func truncateStr(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
