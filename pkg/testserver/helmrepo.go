package testserver

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"helm.sh/helm/v4/pkg/chart/loader/archive"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/provenance"
	repo "helm.sh/helm/v4/pkg/repo/v1"

	"gotk.dev/pkg/localserver"
)

// HelmRepoOptions configures a HelmRepo.
type HelmRepoOptions struct {
	// Auth, when set, requires these basic-auth credentials on every request.
	Auth BasicAuth
	// TLS serves HTTPS with a certificate from a freshly generated CA; see
	// HelmRepo.CAPEM.
	TLS bool
	// RelativeURLs writes chart URLs relative to the repository
	// ("podinfo-1.0.0.tgz") instead of absolute ones in index.yaml.
	RelativeURLs bool
}

// HelmRepo is a static Helm chart repository: a directory with index.yaml
// and packaged charts (.tgz), served over HTTP on 127.0.0.1. Charts are
// built with Helm's own packaging code and the index with pkg/repo.
type HelmRepo struct {
	opts HelmRepoOptions
	dir  string
	srv  *localserver.HTTPServer

	mu    sync.Mutex
	index *repo.IndexFile
}

// DefaultChartTemplate is the template AddChart uses when the files it is
// given contain no templates: a ConfigMap named after the release whose
// data.message comes from .Values.message.
const DefaultChartTemplate = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-{{ .Chart.Name }}
data:
  message: {{ .Values.message | quote }}
  version: {{ .Chart.Version | quote }}
`

// NewHelmRepo starts an empty chart repository (with a valid, empty
// index.yaml) on 127.0.0.1 at a random port.
func NewHelmRepo(opts HelmRepoOptions) (*HelmRepo, error) {
	dir, err := os.MkdirTemp("", "gotk-helmrepo-")
	if err != nil {
		return nil, err
	}
	h := &HelmRepo{opts: opts, dir: dir, index: repo.NewIndexFile()}
	fs := http.FileServer(http.Dir(dir))
	if h.srv, err = localserver.StartHTTP(localserver.RequireBasicAuth(fs, opts.Auth, "helm"), opts.TLS); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := h.writeIndexLocked(); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// NewHelmRepoForTest is NewHelmRepo that fails t on error and closes the
// repository in t.Cleanup.
func NewHelmRepoForTest(t testing.TB, opts HelmRepoOptions) *HelmRepo {
	t.Helper()
	h, err := NewHelmRepo(opts)
	return forTest(t, h, err)
}

// URL returns the repository URL (what a HelmRepository's spec.url holds).
func (h *HelmRepo) URL() string { return h.srv.URL }

// IndexURL returns the URL of index.yaml.
func (h *HelmRepo) IndexURL() string { return h.srv.URL + "/index.yaml" }

// ChartURL returns the download URL of the packaged chart name-version.tgz.
func (h *HelmRepo) ChartURL(name, version string) string {
	return fmt.Sprintf("%s/%s-%s.tgz", h.srv.URL, name, version)
}

// Dir returns the directory being served.
func (h *HelmRepo) Dir() string { return h.dir }

// CAPEM returns the PEM certificate of the CA that signed the server's
// certificate, or nil when TLS is off.
func (h *HelmRepo) CAPEM() []byte { return h.srv.CAPEM }

// Client returns an HTTP client that trusts the server's certificate.
func (h *HelmRepo) Client() *http.Client { return h.srv.Client() }

// Close stops the server and removes its directory.
func (h *HelmRepo) Close() {
	h.srv.Close()
	_ = os.RemoveAll(h.dir)
}

// AddChart packages a chart and publishes it, regenerating index.yaml.
// files maps chart-relative paths ("values.yaml", "templates/cm.yaml") to
// contents. Unless files holds its own Chart.yaml, one is generated with
// apiVersion v2, type application, the given name and version and
// appVersion = version. When files holds no templates, DefaultChartTemplate
// is used as templates/configmap.yaml with values `message: hello`.
// Adding an existing name and version replaces it.
func (h *HelmRepo) AddChart(name, version string, files map[string]string) error {
	all := map[string]string{}
	for p, c := range files {
		all[strings.TrimPrefix(filepath.ToSlash(p), "/")] = c
	}
	if _, ok := all["Chart.yaml"]; !ok {
		all["Chart.yaml"] = fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\nappVersion: %q\ndescription: %s test chart\ntype: application\n",
			name, version, version, name)
	}
	hasTemplates := false
	for p := range all {
		hasTemplates = hasTemplates || strings.HasPrefix(p, "templates/")
	}
	if !hasTemplates {
		all["templates/configmap.yaml"] = DefaultChartTemplate
		if _, ok := all["values.yaml"]; !ok {
			all["values.yaml"] = "message: hello\n"
		}
	}
	paths := make([]string, 0, len(all))
	for p := range all {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	buffered := make([]*archive.BufferedFile, 0, len(paths))
	for _, p := range paths {
		buffered = append(buffered, &archive.BufferedFile{Name: p, Data: []byte(all[p])})
	}
	c, err := loader.LoadFiles(buffered)
	if err != nil {
		return fmt.Errorf("loading chart %s-%s: %w", name, version, err)
	}
	if c.Name() != name || c.Metadata.Version != version {
		return fmt.Errorf("Chart.yaml declares %s-%s, want %s-%s", c.Name(), c.Metadata.Version, name, version)
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	// Package into a scratch directory, then rename into place so that a
	// concurrent download never sees a partial archive.
	tmp, err := os.MkdirTemp(h.dir, ".pkg-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	packaged, err := chartutil.Save(c, tmp)
	if err != nil {
		return fmt.Errorf("packaging chart %s-%s: %w", name, version, err)
	}
	digest, err := provenance.DigestFile(packaged)
	if err != nil {
		return err
	}
	filename := filepath.Base(packaged)
	if err := os.Rename(packaged, filepath.Join(h.dir, filename)); err != nil {
		return err
	}

	// Drop a previous entry with the same version, then add the new one.
	kept := h.index.Entries[name][:0]
	for _, cv := range h.index.Entries[name] {
		if cv.Version != version {
			kept = append(kept, cv)
		}
	}
	h.index.Entries[name] = kept
	baseURL := h.srv.URL
	if h.opts.RelativeURLs {
		baseURL = ""
	}
	if err := h.index.MustAdd(c.Metadata, filename, baseURL, digest); err != nil {
		return fmt.Errorf("indexing chart %s-%s: %w", name, version, err)
	}
	return h.writeIndexLocked()
}

// writeIndexLocked sorts the index and writes index.yaml atomically.
func (h *HelmRepo) writeIndexLocked() error {
	h.index.SortEntries()
	return h.index.WriteFile(filepath.Join(h.dir, "index.yaml"), 0o644)
}
