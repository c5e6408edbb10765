package controller

import (
	"context"
	"io"
	"os"
	"strings"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/artifact/sourceignore"
	"gotk.dev/pkg/artifact/tarball"
	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/git"
	"gotk.dev/pkg/oci"
	"gotk.dev/pkg/runtime/reconcile"
)

// ociScope is what one OCIRepository reconcile observed.
type ociScope struct {
	obj      *sourcev1.OCIRepository
	repo     name.Repository
	options  oci.Options
	tag      string // the resolved tag, empty for a digest reference
	digest   string // manifest digest, sha256:<hex>
	revision string // <tag>@sha256:<hex> or sha256:<hex>
}

// checkStorage forgets a status artifact whose file has gone (e.g. the
// storage volume was lost), so the next steps store it again.
func (r *OCIRepositoryReconciler) checkStorage(_ context.Context, s *ociScope) error {
	if a := s.obj.Status.Artifact; a != nil && !r.Storage.ArtifactExist(*a) {
		s.obj.Status.Artifact = nil
		s.obj.Status.URL = ""
		conditions.Delete(s.obj, sourcev1.ArtifactInStorageCondition)
	}
	return nil
}

// connect parses the URL and reads credentials (a cloud provider's
// login or secretRef), TLS settings and the proxy.
func (r *OCIRepositoryReconciler) connect(ctx context.Context, s *ociScope) error {
	spec := s.obj.Spec
	if !strings.HasPrefix(spec.URL, "oci://") {
		return r.fetchFailed(s, reconcile.Stall(sourcev1.URLInvalidReason, "URL %q must start with oci://", spec.URL))
	}
	repo, err := oci.ParseRepository(strings.TrimPrefix(spec.URL, "oci://"), spec.Insecure)
	if err != nil {
		return r.fetchFailed(s, reconcile.Stall(sourcev1.URLInvalidReason, "%v", err))
	}
	s.repo = repo
	s.options = oci.Options{Insecure: spec.Insecure}
	switch {
	case spec.Provider != "" && spec.Provider != sourcev1.GenericOCIProvider:
		// A cloud provider's login replaces secretRef, as in Flux.
		a := cloudauth.ObjectAuth{Provider: spec.Provider, Namespace: s.obj.Namespace, ServiceAccountName: spec.ServiceAccountName,
			WorkloadIdentity: r.WorkloadIdentity, Field: "spec.serviceAccountName"}
		if s.options.Auth, err = a.RegistryLogin(ctx, r.Client, repo.RegistryStr(), cloudauth.Options{}); err != nil {
			return r.fetchFailed(s, err)
		}
	case spec.SecretRef != nil:
		data, err := readSecret(ctx, r.Client, s.obj.Namespace, spec.SecretRef.Name)
		if err != nil {
			return r.fetchFailed(s, err)
		}
		config, ok := data[corev1.DockerConfigJsonKey]
		if !ok {
			return r.fetchFailed(s, reconcile.Stall(sourcev1.AuthenticationFailedReason,
				"secret '%s' has no %s key (want a kubernetes.io/dockerconfigjson Secret)", spec.SecretRef.Name, corev1.DockerConfigJsonKey))
		}
		if s.options.Auth, err = oci.AuthFromDockerConfig(config, repo.RegistryStr()); err != nil {
			return r.fetchFailed(s, reconcile.Stall(sourcev1.AuthenticationFailedReason, "secret '%s': %v", spec.SecretRef.Name, err))
		}
	}
	// Without secretRef, the image pull secrets of spec.serviceAccountName
	// authenticate, as Flux does.
	if spec.SecretRef == nil && spec.ServiceAccountName != "" {
		auth, err := oci.ServiceAccountAuth(ctx, r.Client, s.obj.Namespace, spec.ServiceAccountName, repo.RegistryStr())
		if err != nil {
			return r.fetchFailed(s, reconcile.Retry(sourcev1.AuthenticationFailedReason, "%v", err))
		}
		s.options.Auth = auth
	}
	if spec.CertSecretRef != nil {
		var err error
		if s.options.TLS, err = tlsFromSecret(ctx, r.Client, s.obj.Namespace, spec.CertSecretRef.Name); err != nil {
			return r.fetchFailed(s, err)
		}
	}
	if ref := spec.ProxySecretRef; ref != nil {
		data, err := readSecret(ctx, r.Client, s.obj.Namespace, ref.Name)
		if err != nil {
			return r.fetchFailed(s, err)
		}
		if s.options.Proxy, err = git.ProxyURL(data); err != nil {
			return r.fetchFailed(s, reconcile.Stall(sourcev1.AuthenticationFailedReason, "proxy secret '%s': %v", ref.Name, err))
		}
	}
	return nil
}

// resolve turns the reference (digest > semver > tag, default latest)
// into a manifest digest with one tag listing or HEAD request.
func (r *OCIRepositoryReconciler) resolve(ctx context.Context, s *ociScope) error {
	ref := s.obj.Spec.Reference
	if ref == nil {
		ref = &sourcev1.OCIRepositoryRef{}
	}
	switch {
	case ref.Digest != "":
		if _, err := v1.NewHash(ref.Digest); err != nil {
			return r.fetchFailed(s, reconcile.Stall(sourcev1.URLInvalidReason, "digest %q: %v", ref.Digest, err))
		}
		s.digest, s.revision = ref.Digest, ref.Digest
		return nil
	case ref.SemVer != "":
		tags, err := oci.ListTags(ctx, s.repo, s.options)
		if err != nil {
			return r.fetchFailed(s, r.registryError(s, err))
		}
		if s.tag, err = oci.LatestSemver(tags, ref.SemVer, ref.SemverFilter); err != nil {
			return r.fetchFailed(s, reconcile.Retry(sourcev1.OCIPullFailedReason, "%v (%d tags in %s)", err, len(tags), s.repo.Name()))
		}
	default:
		s.tag = ref.Tag
		if s.tag == "" {
			s.tag = "latest"
		}
	}
	digest, err := oci.Digest(ctx, s.repo, s.tag, s.options)
	if err != nil {
		return r.fetchFailed(s, r.registryError(s, err))
	}
	s.digest, s.revision = digest, s.tag+"@"+digest
	return nil
}

// pull stores the selected layer of the manifest unless the stored
// artifact already has this revision and layer selection.
func (r *OCIRepositoryReconciler) pull(ctx context.Context, s *ociScope) error {
	obj := s.obj
	if a := obj.Status.Artifact; a != nil && a.Revision == s.revision && layerSelectorEqual(obj.Spec.LayerSelector, obj.Status.ObservedLayerSelector) &&
		ptrEqual(obj.Spec.Ignore, obj.Status.ObservedIgnore) {
		conditions.Delete(obj, sourcev1.FetchFailedCondition)
		conditions.MarkTrue(obj, sourcev1.ArtifactInStorageCondition, sourcev1.ArtifactUpToDateReason,
			"artifact up-to-date with remote revision: '%s'", s.revision)
		return nil
	}
	img, err := oci.Image(ctx, s.repo.Digest(s.digest), s.options)
	if err != nil {
		return r.fetchFailed(s, r.registryError(s, err))
	}
	manifest, err := img.Manifest()
	if err != nil {
		return r.fetchFailed(s, reconcile.Retry(sourcev1.OCIPullFailedReason, "reading the manifest of %s: %v", s.revision, err))
	}
	layer, err := oci.SelectLayer(img, manifest, layerMediaType(obj.Spec.LayerSelector))
	if err != nil {
		return r.fetchFailed(s, reconcile.Retry(sourcev1.OCILayerOperationFailedReason, "%s: %v", s.revision, err))
	}
	art := r.Storage.NewArtifactFor(sourcev1.OCIRepositoryKind, obj, s.revision, strings.TrimPrefix(s.digest, "sha256:")+".tar.gz")
	if err := r.store(obj, &art, layer); err != nil {
		return err
	}
	art.Metadata = manifest.Annotations
	obj.Status.Artifact = &art
	obj.Status.ObservedLayerSelector = obj.Spec.LayerSelector.DeepCopy()
	obj.Status.ObservedIgnore = obj.Spec.Ignore
	conditions.Delete(obj, sourcev1.FetchFailedCondition)
	conditions.MarkTrue(obj, sourcev1.ArtifactInStorageCondition, meta.SucceededReason, "stored artifact for digest '%s'", s.revision)
	if url, err := r.Storage.Symlink(art, "latest.tar.gz"); err == nil {
		obj.Status.URL = url
	}
	annotations := map[string]string{sourcev1.GroupVersion.Group + "/revision": s.revision, sourcev1.GroupVersion.Group + "/digest": art.Digest}
	if origin := manifest.Annotations[oci.RevisionAnnotation]; origin != "" {
		annotations[sourcev1.GroupVersion.Group+"/originRevision"] = origin
	}
	if r.Events != nil {
		r.Events.AnnotatedEventf(obj, nil, annotations, corev1.EventTypeNormal, "NewArtifact", "Pull",
			"stored artifact with revision '%s' from '%s'", s.revision, obj.Spec.URL)
	}
	return nil
}

// store extracts the layer and archives it again (normalised, bounded) or,
// for operation copy, stores the layer blob as it is.
func (r *OCIRepositoryReconciler) store(obj *sourcev1.OCIRepository, art *meta.Artifact, layer v1.Layer) error {
	unlock, err := r.Storage.Lock(*art)
	if err != nil {
		return reconcile.Retry(sourcev1.AcquireLockFailedReason, "%v", err)
	}
	defer unlock()
	if err := r.Storage.MkdirAllFor(*art); err != nil {
		return r.storageFailed(obj, sourcev1.DirCreationFailedReason, err)
	}
	blob, err := layer.Compressed()
	if err != nil {
		return r.fetchFailedObj(obj, reconcile.Retry(sourcev1.OCIPullFailedReason, "downloading the layer: %v", err))
	}
	defer blob.Close()
	if sel := obj.Spec.LayerSelector; sel != nil && sel.Operation == "copy" {
		limited := io.LimitReader(blob, r.limits().MaxTotalBytes+1)
		if err := r.Storage.Copy(art, limited); err != nil {
			return r.storageFailed(obj, sourcev1.ArchiveOperationFailedReason, err)
		}
		return nil
	}
	dir, err := os.MkdirTemp("", "oci-layer-")
	if err != nil {
		return r.storageFailed(obj, sourcev1.DirCreationFailedReason, err)
	}
	defer os.RemoveAll(dir)
	if err := tarball.Untar(blob, dir, r.limits()); err != nil {
		return r.fetchFailedObj(obj, reconcile.Retry(sourcev1.OCILayerOperationFailedReason, "extracting the layer: %v", err))
	}
	// spec.ignore, when set, excludes paths as for a GitRepository (the
	// defaults, .sourceignore files, then the spec's patterns).
	var filter tarball.Filter
	if obj.Spec.Ignore != nil {
		patterns, err := sourceignore.Load(dir, obj.Spec.Ignore)
		if err != nil {
			return r.fetchFailedObj(obj, reconcile.Retry(sourcev1.ReadOperationFailedReason, "reading ignore files: %v", err))
		}
		filter = sourceignore.Filter(dir, patterns, nil)
	}
	if err := r.Storage.Archive(art, dir, filter); err != nil {
		return r.storageFailed(obj, sourcev1.ArchiveOperationFailedReason, err)
	}
	return nil
}

// gc removes superseded artifacts beyond the retention.
func (r *OCIRepositoryReconciler) gc(ctx context.Context, s *ociScope) error {
	if s.obj.Status.Artifact == nil {
		return nil
	}
	if err := collectGarbage(ctx, r.Storage, s.obj, *s.obj.Status.Artifact); err != nil {
		return err
	}
	conditions.Delete(s.obj, sourcev1.StorageOperationFailedCondition)
	return nil
}

func (r *OCIRepositoryReconciler) limits() tarball.Limits {
	if r.Limits == (tarball.Limits{}) {
		return tarball.DefaultLimits()
	}
	return r.Limits
}

// layerMediaType is the media type a layer selector asks for ("": none).
func layerMediaType(sel *sourcev1.OCILayerSelector) string {
	if sel == nil {
		return ""
	}
	return sel.MediaType
}

func layerSelectorEqual(a, b *sourcev1.OCILayerSelector) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// registryError names the registry and, for refused credentials, says so.
func (r *OCIRepositoryReconciler) registryError(s *ociScope, err error) error {
	if oci.IsAuthError(err) {
		return reconcile.Retry(sourcev1.AuthenticationFailedReason, "registry %s refused the credentials: %v", s.repo.RegistryStr(), err)
	}
	return reconcile.Retry(sourcev1.OCIPullFailedReason, "%v", err)
}

func (r *OCIRepositoryReconciler) fetchFailed(s *ociScope, err error) error {
	return markFetchFailed(s.obj, err)
}

func (r *OCIRepositoryReconciler) fetchFailedObj(obj *sourcev1.OCIRepository, err error) error {
	return markFetchFailed(obj, err)
}

func (r *OCIRepositoryReconciler) storageFailed(obj *sourcev1.OCIRepository, reason string, err error) error {
	return markStorageFailed(obj, reason, err)
}
