// Package oci reaches OCI registries with go-containerregistry: credentials
// from dockerconfigjson Secrets, TLS, tag listing, digest resolution and
// pulls; it also filters scanned tags by an exclusion list.
//
// It lists and resolves image tags in OCI registries with
// go-containerregistry, and filters the scanned tags by the exclusion list.
package oci

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// DefaultPageSize is the number of tags asked for per tag-list request;
// further pages follow the registry's Link header.
const DefaultPageSize = 1000

// LatestTagsCount is how many tags the status shows as a sample.
const LatestTagsCount = 10

// Options says how to reach a registry.
type Options struct {
	// Auth is the credentials; anonymous when nil.
	Auth authn.Authenticator
	// TLS is the client TLS configuration; the system roots when nil.
	TLS *tls.Config
	// Proxy is the HTTP(S) proxy; none when nil.
	Proxy *url.URL
	// Insecure allows plain HTTP.
	Insecure bool
	// PageSize is the tags per list request; DefaultPageSize when zero.
	PageSize int
	// UserAgent is sent with each request.
	UserAgent string
}

// ParseRepository parses an ImageRepository's spec.image. Tags and digests
// are refused: the repository, not one image, is scanned. Credentials in
// the registry part ("user:pass@host/app") are refused without echoing
// them: the parser's own error would quote them into status and events.
func ParseRepository(image string, insecure bool) (name.Repository, error) {
	if host, _, ok := strings.Cut(image, "/"); ok && strings.Contains(host, "@") {
		return name.Repository{}, errors.New("credentials in the image reference are not allowed: use a secretRef")
	}
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	repo, err := name.NewRepository(image, opts...)
	if err != nil {
		if _, refErr := name.ParseReference(image, opts...); refErr == nil {
			return name.Repository{}, fmt.Errorf("image %q must be a repository without a tag or digest", image)
		}
		return name.Repository{}, fmt.Errorf("invalid image %q: %w", image, err)
	}
	return repo, nil
}

// Transport is a new HTTP transport with o's TLS configuration and proxy,
// for clients of the registry other than go-containerregistry's.
func (o Options) Transport() *http.Transport {
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	if o.TLS != nil {
		tr.TLSClientConfig = o.TLS.Clone()
	}
	if o.Proxy != nil {
		tr.Proxy = http.ProxyURL(o.Proxy)
	}
	return tr
}

func (o Options) remote(ctx context.Context) []remote.Option {
	tr := o.Transport()
	auth := o.Auth
	if auth == nil {
		auth = authn.Anonymous
	}
	page := o.PageSize
	if page <= 0 {
		page = DefaultPageSize
	}
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuth(auth),
		remote.WithTransport(tr),
		remote.WithPageSize(page),
	}
	if o.UserAgent != "" {
		opts = append(opts, remote.WithUserAgent(o.UserAgent))
	}
	return opts
}

// ListTags returns every tag of the repository, following pagination.
func ListTags(ctx context.Context, repo name.Repository, o Options) ([]string, error) {
	tags, err := remote.List(repo, o.remote(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("listing tags of %s: %w", repo.Name(), err)
	}
	return tags, nil
}

// Digest returns the manifest digest of repo:tag with a HEAD request.
func Digest(ctx context.Context, repo name.Repository, tag string, o Options) (string, error) {
	desc, err := remote.Head(repo.Tag(tag), o.remote(ctx)...)
	if err != nil {
		return "", fmt.Errorf("resolving the digest of %s:%s: %w", repo.Name(), tag, err)
	}
	return desc.Digest.String(), nil
}

// IsAuthError reports whether the registry refused the credentials (or
// their absence).
func IsAuthError(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden
	}
	return false
}

// Exclusions is a compiled exclusion list.
type Exclusions []*regexp.Regexp

// CompileExclusions compiles an exclusion list; the error names the bad
// expression.
func CompileExclusions(exprs []string) (Exclusions, error) {
	out := make(Exclusions, 0, len(exprs))
	for _, e := range exprs {
		re, err := regexp.Compile(e)
		if err != nil {
			return nil, fmt.Errorf("invalid exclusionList entry %q: %w", e, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// Excluded reports whether tag matches an exclusion.
func (x Exclusions) Excluded(tag string) bool {
	for _, re := range x {
		if re.MatchString(tag) {
			return true
		}
	}
	return false
}

// Filter returns the tags that match no exclusion, sorted, without
// duplicates. It reuses the backing array of tags.
func (x Exclusions) Filter(tags []string) []string {
	kept := tags[:0]
	for _, t := range tags {
		if !x.Excluded(t) {
			kept = append(kept, t)
		}
	}
	sort.Strings(kept)
	return slices.Compact(kept)
}

// Result is what one scan found.
type Result struct {
	// Tags are the kept tags, sorted.
	Tags []string
	// Listed is how many tags the registry returned before exclusions.
	Listed int
}

// Scan lists the repository's tags and drops the excluded ones.
func Scan(ctx context.Context, repo name.Repository, o Options, x Exclusions) (Result, error) {
	tags, err := ListTags(ctx, repo, o)
	if err != nil {
		return Result{}, err
	}
	listed := len(tags)
	return Result{Tags: x.Filter(tags), Listed: listed}, nil
}

// Revision is a digest of a sorted tag list: equal lists give equal
// revisions, so consumers can tell whether anything changed.
func Revision(sortedTags []string) string {
	h := sha256.New()
	for _, t := range sortedTags {
		h.Write([]byte(t))
		h.Write([]byte{'\n'})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// LatestTags returns the sample shown in status: the last n tags of the
// sorted list, in descending order.
func LatestTags(sortedTags []string, n int) []string {
	if n > len(sortedTags) {
		n = len(sortedTags)
	}
	out := make([]string, 0, n)
	for i := len(sortedTags) - 1; i >= len(sortedTags)-n; i-- {
		out = append(out, sortedTags[i])
	}
	return out
}
