package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/catalog"
	"gotk.dev/cli/internal/drift"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/artifact"
	"gotk.dev/pkg/kustomize"
)

// driftView is what the drift page shows.
type driftView struct {
	Revision, AppliedRevision string
	Changes                   []drift.Change
	// Approximate, when set, says why the changes were found field by
	// field instead of by dry-run.
	Approximate string
	Error       string
}

// drift builds the Kustomization's source artifact as kustomize-controller
// does and compares it with the cluster by server-side dry-run. It runs
// only when asked for: it downloads and builds.
func (s *Server) drift(w http.ResponseWriter, r *http.Request) {
	key := client.ObjectKey{Namespace: r.PathValue("ns"), Name: r.PathValue("name")}
	ks := &kustomizev1.Kustomization{}
	if s.scope != "" && key.Namespace != s.scope || !s.visible(r.Context(), "get", kustomizev1.GroupVersion.Group, "kustomizations", key.Namespace) ||
		s.reader.Get(r.Context(), key, ks) != nil {
		http.Error(w, fmt.Sprintf("Kustomization %s: not found", key), http.StatusNotFound)
		return
	}
	v := driftView{AppliedRevision: ks.Status.LastAppliedRevision}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	var err error
	v.Revision, v.Changes, v.Approximate, err = s.compare(ctx, ks)
	if err != nil {
		v.Error = err.Error()
	}
	s.render(w, r, "drift", "Drift of Kustomization "+key.String(), map[string]any{
		"Namespace": key.Namespace, "Name": key.Name, "View": v})
}

// compare fetches, builds and dry-runs; it returns the artifact revision.
// Without patch access, which a dry-run needs, it compares field by field
// and says so in approximate.
func (s *Server) compare(ctx context.Context, ks *kustomizev1.Kustomization) (rev string, changes []drift.Change, approximate string, err error) {
	k, _ := catalog.ByKind(kustomizev1.KustomizationKind)
	srcKind, ns, name, ok := k.Source(ks)
	sk, err := catalog.ByKind(srcKind)
	if !ok || err != nil {
		return "", nil, "", fmt.Errorf("source %s %s/%s is not a kind the UI can read", srcKind, ns, name)
	}
	src := sk.New()
	if err := s.client(ctx).Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, src); err != nil {
		return "", nil, "", fmt.Errorf("source %s %s/%s: %w", srcKind, ns, name, err)
	}
	su, err := runtime.DefaultUnstructuredConverter.ToUnstructured(src)
	if err != nil {
		return "", nil, "", err
	}
	artURL, _, _ := unstructured.NestedString(su, "status", "artifact", "url")
	digest, _, _ := unstructured.NestedString(su, "status", "artifact", "digest")
	rev, _, _ = unstructured.NestedString(su, "status", "artifact", "revision")
	if artURL == "" {
		return "", nil, "", fmt.Errorf("source %s %s/%s has no artifact yet", srcKind, ns, name)
	}
	files, err := s.fetchArtifact(ctx, artURL, digest)
	if err != nil {
		return rev, nil, "", err
	}
	opts := kustomize.OptionsFromSpec(&ks.Spec)
	if opts.Substitution, err = kustomize.PostBuildSubstitution(ctx, s.client(ctx), ks.Namespace, ks.Spec.PostBuild, false); err != nil {
		return rev, nil, "", err
	}
	objs, err := kustomize.Build(files, opts)
	if err != nil {
		return rev, nil, "", fmt.Errorf("building: %w", err)
	}
	// The controller labels what it applies with its owner; so does the
	// desired state, or every object would seem to lose the labels.
	for _, u := range objs {
		l := u.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		l[kustomizev1.NameLabel], l[kustomizev1.NamespaceLabel] = ks.Name, ks.Namespace
		u.SetLabels(l)
	}
	changes, err = drift.Compare(ctx, s.client(ctx), objs, "desired")
	if apierrors.IsForbidden(err) {
		approximate = fmt.Sprintf("Approximate: compared field by field, because a server-side dry-run needs patch access (%v). "+
			"Server defaults, admission changes and fields applying would remove are not seen.", err)
		changes, err = drift.CompareFields(ctx, s.client(ctx), objs, "desired")
	}
	return rev, changes, approximate, err
}

// fetchArtifact downloads the artifact through the API server's service
// proxy (so it works from a laptop and in the cluster alike), verifies
// its digest and extracts it.
func (s *Server) fetchArtifact(ctx context.Context, artURL, digest string) (*kustomize.Files, error) {
	cfg := s.viewerOf(ctx).config
	proxied, err := serviceProxyURL(cfg.Host, artURL)
	if err != nil {
		return nil, err
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "gotk-ui-artifact-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	f := artifact.NewFetcher(2, time.Minute, 0)
	f.Client = hc
	if err := f.Fetch(ctx, proxied, digest, dir); err != nil {
		return nil, err
	}
	return kustomize.LoadDir(dir, 0)
}

// serviceProxyURL turns an in-cluster artifact URL
// (http://source-controller.flux-system.svc.cluster.local./path) into the
// API server's proxy URL of that Service and port.
func serviceProxyURL(apiHost, artURL string) (string, error) {
	u, err := url.Parse(artURL)
	if err != nil {
		return "", fmt.Errorf("artifact URL %q: %w", artURL, err)
	}
	parts := strings.Split(u.Hostname(), ".")
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return "", fmt.Errorf("artifact URL %q does not name a Service as service.namespace", artURL)
	}
	port := cmpOr(u.Port(), "80")
	// rest.Config.Host may be a bare host:port, meaning HTTPS.
	if !strings.Contains(apiHost, "://") {
		apiHost = "https://" + apiHost
	}
	base, err := url.Parse(apiHost)
	if err != nil {
		return "", fmt.Errorf("API server address %q: %w", apiHost, err)
	}
	base.Path = strings.TrimSuffix(base.Path, "/") + fmt.Sprintf("/api/v1/namespaces/%s/services/%s:%s/proxy%s",
		parts[1], parts[0], port, u.EscapedPath())
	return base.String(), nil
}
