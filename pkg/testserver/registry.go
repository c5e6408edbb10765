package testserver

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"gotk.dev/pkg/localserver"
)

// RegistryOptions configures a Registry.
type RegistryOptions struct {
	// Auth, when set, requires these basic-auth credentials on every request
	// (the /v2/ ping answers 401 with a Basic challenge).
	Auth BasicAuth
	// TLS serves HTTPS with a certificate from a freshly generated CA; see
	// Registry.CAPEM.
	TLS bool
	// Logger receives the registry's request log; discarded when nil.
	Logger *log.Logger
}

// Registry is an in-process OCI distribution registry
// (go-containerregistry's pkg/registry, in memory) on 127.0.0.1. Tag
// listing is paginated per the distribution spec: with ?n=N a page holds at
// most N tags and, when more tags follow, the response carries
// `Link: </v2/<name>/tags/list?n=N&last=X>; rel="next"`.
type Registry struct {
	srv         *localserver.HTTPServer
	tagRequests atomic.Int64
	linkHeaders atomic.Int64
	outage      outage
}

// NewRegistry starts a registry on 127.0.0.1 at a random port.
func NewRegistry(opts RegistryOptions) (*Registry, error) {
	logger := opts.Logger
	if logger == nil {
		logger = log.New(io.Discard, "", 0)
	}
	r := &Registry{}
	inner := registry.New(registry.Logger(logger), registry.WithReferrersSupport(true))
	h := r.outage.wrap(localserver.RequireBasicAuth(r.paginateTags(inner), opts.Auth, "registry"))
	var err error
	if r.srv, err = localserver.StartHTTP(h, opts.TLS); err != nil {
		return nil, err
	}
	return r, nil
}

// NewRegistryForTest is NewRegistry that fails t on error and closes the
// registry in t.Cleanup.
func NewRegistryForTest(t testing.TB, opts RegistryOptions) *Registry {
	t.Helper()
	r, err := NewRegistry(opts)
	return forTest(t, r, err)
}

// Host returns "127.0.0.1:port", the registry part of image references.
func (r *Registry) Host() string {
	return strings.TrimPrefix(strings.TrimPrefix(r.srv.URL, "http://"), "https://")
}

// URL returns the registry's base URL (http:// or https://).
func (r *Registry) URL() string { return r.srv.URL }

// CAPEM returns the PEM certificate of the CA that signed the server's
// certificate, or nil when TLS is off.
func (r *Registry) CAPEM() []byte { return r.srv.CAPEM }

// Client returns an HTTP client that trusts the server's certificate.
func (r *Registry) Client() *http.Client { return r.srv.Client() }

// TagListRequests returns how many tag-list requests were answered.
func (r *Registry) TagListRequests() int { return int(r.tagRequests.Load()) }

// LinkHeadersSent returns how many tag-list responses carried a
// rel="next" Link header.
func (r *Registry) LinkHeadersSent() int { return int(r.linkHeaders.Load()) }

// Close stops the registry.
func (r *Registry) Close() { r.srv.Close() }

var tagsListPath = regexp.MustCompile(`^/v2/(.+)/tags/list$`)

// paginateTags answers GET /v2/<name>/tags/list itself from the full,
// sorted list that inner returns, applying last and n and adding the Link
// header when more tags follow. Other requests go straight to inner.
func (r *Registry) paginateTags(inner http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		m := tagsListPath.FindStringSubmatch(req.URL.Path)
		if m == nil || req.Method != http.MethodGet {
			inner.ServeHTTP(w, req)
			return
		}
		q := req.URL.Query()
		n := -1
		if ns := q.Get("n"); ns != "" {
			v, err := strconv.Atoi(ns)
			if err != nil || v < 0 {
				inner.ServeHTTP(w, req) // let the registry report the bad n
				return
			}
			n = v
		}
		last := q.Get("last")
		r.tagRequests.Add(1)

		full := req.Clone(req.Context())
		full.URL.RawQuery = ""
		full.RequestURI = full.URL.RequestURI()
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, full)
		if rec.Code != http.StatusOK {
			copyResponse(w, rec)
			return
		}
		var list struct {
			Name string   `json:"name"`
			Tags []string `json:"tags"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
			http.Error(w, fmt.Sprintf("decoding tag list: %v", err), http.StatusInternalServerError)
			return
		}
		tags := list.Tags
		sort.Strings(tags)
		if last != "" {
			i := sort.Search(len(tags), func(i int) bool { return tags[i] > last })
			tags = tags[i:]
		}
		if n == 0 {
			tags = nil
		} else if n > 0 && n < len(tags) {
			next := url.Values{"n": {strconv.Itoa(n)}, "last": {tags[n-1]}}
			w.Header().Set("Link", fmt.Sprintf("</v2/%s/tags/list?%s>; rel=\"next\"", m[1], next.Encode()))
			r.linkHeaders.Add(1)
			tags = tags[:n]
		}
		if tags == nil {
			tags = []string{}
		}
		body, _ := json.Marshal(map[string]any{"name": list.Name, "tags": tags})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}
