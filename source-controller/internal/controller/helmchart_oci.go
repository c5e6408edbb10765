package controller

import (
	"context"
	"errors"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/oci"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/source-controller/internal/helm"
)

// fromOCIRepository pulls the chart from an OCI HelmRepository, as Helm
// and Flux store charts there: repository <url>/<chart>, one tag per
// version ("+" written "_"). An exact version is its tag; a constraint
// picks the highest matching tag. With spec.verify the chart's manifest
// is verified before its content is pulled.
func (r *HelmChartReconciler) fromOCIRepository(ctx context.Context, obj *sourcev1.HelmChart, hr *sourcev1.HelmRepository) (*chartBuild, error) {
	t, err := r.ociChartTarget(ctx, hr, obj.Spec.Chart, obj.Spec.Version)
	if err != nil {
		return nil, markFetchFailed(obj, err)
	}
	if v := obj.Spec.Verify; v != nil {
		if err := verifyOCI(ctx, r.Client, obj, v, nil, t); err != nil {
			return nil, err
		}
	} else {
		conditions.Delete(obj, sourcev1.SourceVerifiedCondition)
	}
	b := &chartBuild{version: t.revision, verb: "pulled"}
	if r.upToDate(obj, b.version, "") {
		b.upToDate = true
		return b, nil
	}
	data, err := r.pullOCIChart(ctx, t, obj.Spec.Chart)
	if err != nil {
		return nil, markFetchFailed(obj, err)
	}
	conditions.Delete(obj, sourcev1.FetchFailedCondition)
	if b.chart, err = helm.LoadArchive(data, r.ChartFileMaxSize); err != nil {
		return nil, markBuildFailed(obj, reconcile.Retry(chartBuildFailedReason, "chart '%s' %s: %v", obj.Spec.Chart, t.revision, err))
	}
	b.data = data
	return b, r.mergeValues(obj, b)
}

// pullOCIChart downloads the packaged chart of a resolved target within
// the chart size limit.
func (r *HelmChartReconciler) pullOCIChart(ctx context.Context, t ociTarget, chartName string) ([]byte, error) {
	tag := oci.ChartTag(t.revision)
	img, err := oci.Image(ctx, t.repo.Digest(t.digest), t.options)
	if err != nil {
		return nil, ociChartError(t, err)
	}
	manifest, err := img.Manifest()
	if err != nil {
		return nil, reconcile.Retry(chartPullFailedReason, "reading the manifest of %s:%s: %v", t.repo.Name(), tag, err)
	}
	for _, d := range manifest.Layers {
		if string(d.MediaType) != oci.HelmChartContentMediaType {
			continue
		}
		if d.Size > r.ChartMaxSize {
			return nil, reconcile.Retry(chartPullFailedReason, "chart '%s' %s is %d bytes, over the limit of %d", chartName, t.revision, d.Size, r.ChartMaxSize)
		}
		layer, err := img.LayerByDigest(d.Digest)
		if err != nil {
			return nil, reconcile.Retry(chartPullFailedReason, "pulling chart '%s' %s: %v", chartName, t.revision, err)
		}
		data, err := oci.ReadLayer(layer, r.ChartMaxSize)
		if err != nil {
			return nil, reconcile.Retry(chartPullFailedReason, "pulling chart '%s' %s: %v", chartName, t.revision, err)
		}
		return data, nil
	}
	return nil, reconcile.Retry(chartPullFailedReason, "%s:%s has no %s layer", t.repo.Name(), tag, oci.HelmChartContentMediaType)
}

// ociChartTarget resolves chartName's repository under hr, hr's
// credentials, the version matching constraint (in target.revision) and
// its manifest digest.
func (r *HelmChartReconciler) ociChartTarget(ctx context.Context, hr *sourcev1.HelmRepository, chartName, constraint string) (ociTarget, error) {
	var t ociTarget
	repo, err := oci.ChartRepository(hr.Spec.URL, chartName, hr.Spec.Insecure)
	if err != nil {
		return t, reconcile.Stall(sourcev1.URLInvalidReason, "chart '%s' in HelmRepository '%s' of type oci: %v", chartName, hr.Name, err)
	}
	t.repo, t.options = repo, oci.Options{Insecure: hr.Spec.Insecure}
	if p := hr.Spec.Provider; p != "" && p != sourcev1.GenericOCIProvider {
		// A cloud provider's login (the controller's own identity: a
		// HelmRepository names no ServiceAccount) replaces secretRef.
		a := cloudauth.ObjectAuth{Provider: p, Namespace: hr.Namespace}
		if t.options.Auth, err = a.RegistryLogin(ctx, r.Client, repo.RegistryStr(), cloudauth.Options{}); err != nil {
			return t, err
		}
	} else if ref := hr.Spec.SecretRef; ref != nil {
		data, err := readSecret(ctx, r.Client, hr.Namespace, ref.Name)
		if err != nil {
			return t, err
		}
		if config, ok := data[corev1.DockerConfigJsonKey]; ok {
			if t.options.Auth, err = oci.AuthFromDockerConfig(config, repo.RegistryStr()); err != nil {
				return t, reconcile.Stall(sourcev1.AuthenticationFailedReason, "secret '%s': %v", ref.Name, err)
			}
		} else {
			t.options.Auth = &authn.Basic{Username: string(data["username"]), Password: string(data["password"])}
		}
	}
	if ref := hr.Spec.CertSecretRef; ref != nil {
		if t.options.TLS, err = tlsFromSecret(ctx, r.Client, hr.Namespace, ref.Name); err != nil {
			return t, err
		}
	}
	if t.revision, err = oci.ChartVersion(ctx, repo, constraint, t.options); errors.Is(err, oci.ErrNoChartVersion) {
		return t, reconcile.Retry(chartPullFailedReason, "no chart version of '%s' matches '%s' in %s: %v", chartName, constraint, repo.Name(), err)
	} else if err != nil {
		return t, ociChartError(t, err)
	}
	if t.digest, err = oci.Digest(ctx, t.repo, oci.ChartTag(t.revision), t.options); err != nil {
		return t, ociChartError(t, err)
	}
	return t, nil
}

func ociChartError(t ociTarget, err error) error {
	if oci.IsAuthError(err) {
		return reconcile.Retry(sourcev1.AuthenticationFailedReason, "registry %s refused the credentials: %v", t.repo.RegistryStr(), err)
	}
	return reconcile.Retry(chartPullFailedReason, "%v", err)
}
