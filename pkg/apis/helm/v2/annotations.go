package v2

import "github.com/fluxcd/pkg/apis/meta"

const (
	// ForceRequestAnnotation, when equal to the reconcile request token,
	// forces a one-off install or upgrade.
	ForceRequestAnnotation = meta.ForceRequestAnnotation

	// ResetRequestAnnotation, when equal to the reconcile request token,
	// resets the failure counters so remediation starts again.
	ResetRequestAnnotation = "reconcile.fluxcd.io/resetAt"
)

// Labels set on the objects of a release.
const (
	// NameLabel holds the name of the owning HelmRelease.
	NameLabel = "helm.toolkit.fluxcd.io/name"

	// NamespaceLabel holds the namespace of the owning HelmRelease.
	NamespaceLabel = "helm.toolkit.fluxcd.io/namespace"
)

// Keys of the metadata attached to events about a HelmRelease.
const (
	// RevisionEventAnnotation carries the chart version of the release.
	RevisionEventAnnotation = "helm.toolkit.fluxcd.io/revision"

	// AppVersionEventAnnotation carries the chart's app version.
	AppVersionEventAnnotation = "helm.toolkit.fluxcd.io/app-version"

	// OCIDigestEventAnnotation carries the OCI digest of the chart artifact.
	OCIDigestEventAnnotation = "helm.toolkit.fluxcd.io/oci-digest"
)

// ShouldHandleResetRequest reports whether the object carries a new reset
// request matching its reconcile request, and records it as handled.
func ShouldHandleResetRequest(obj *HelmRelease) bool {
	return meta.HandleAnnotationRequest(obj, ResetRequestAnnotation, obj.GetLastHandledResetRequestStatus())
}

// ShouldHandleForceRequest reports whether the object carries a new force
// request matching its reconcile request, and records it as handled.
func ShouldHandleForceRequest(obj *HelmRelease) bool {
	return meta.HandleAnnotationRequest(obj, ForceRequestAnnotation, obj.GetLastHandledForceRequestStatus())
}
