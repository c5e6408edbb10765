// Package catalog is the CLI's catalogue of gotk's API kinds: it maps the
// words users type (`source git`, `ks`, `hr`) to a kind, lists its
// objects and reads the status fields the CLI shows of them.
package catalog

import (
	"fmt"
	"strings"

	"github.com/fluxcd/pkg/apis/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	imagev1 "gotk.dev/pkg/apis/image/v1"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	notificationv1 "gotk.dev/pkg/apis/notification/v1"
	notificationv1beta3 "gotk.dev/pkg/apis/notification/v1beta3"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	sourceextv1beta1 "gotk.dev/pkg/apis/sourceextensions/v1beta1"
)

// Kind is one API kind as the CLI knows it.
type Kind struct {
	// Words are what users type, e.g. ["source", "git"].
	Words []string
	// Aliases are extra single words (short names, plural).
	Aliases []string
	// GVK is the API kind.
	GVK schema.GroupVersionKind
	// New returns an empty object.
	New func() client.Object
	// NewList returns an empty list.
	NewList func() client.ObjectList
	// Revision reads the revision the object last produced or applied.
	Revision func(client.Object) string
	// Reconcilable is false for kinds without a reconciler (Alert, Provider).
	Reconcilable bool
	// Source returns the kind and key of the object's source, if any.
	Source func(client.Object) (kind, namespace, name string, ok bool)
}

// Name is the words joined, e.g. "source git".
func (k Kind) Name() string { return strings.Join(k.Words, " ") }

func artifactRevision(a *meta.Artifact) string {
	if a == nil {
		return ""
	}
	return a.Revision
}

// All lists every kind the CLI handles, in display order.
var All = []Kind{
	{Words: []string{"source", "git"}, Aliases: []string{"gitrepository", "gitrepositories", "gitrepo"}, Reconcilable: true,
		GVK:     sourcev1.GroupVersion.WithKind(sourcev1.GitRepositoryKind),
		New:     func() client.Object { return &sourcev1.GitRepository{} },
		NewList: func() client.ObjectList { return &sourcev1.GitRepositoryList{} },
		Revision: func(o client.Object) string {
			return artifactRevision(o.(*sourcev1.GitRepository).Status.Artifact)
		}},
	{Words: []string{"source", "oci"}, Aliases: []string{"ocirepository", "ocirepositories", "ocirepo"}, Reconcilable: true,
		GVK:     sourcev1.GroupVersion.WithKind(sourcev1.OCIRepositoryKind),
		New:     func() client.Object { return &sourcev1.OCIRepository{} },
		NewList: func() client.ObjectList { return &sourcev1.OCIRepositoryList{} },
		Revision: func(o client.Object) string {
			return artifactRevision(o.(*sourcev1.OCIRepository).Status.Artifact)
		}},
	{Words: []string{"source", "helm"}, Aliases: []string{"helmrepository", "helmrepositories", "helmrepo"}, Reconcilable: true,
		GVK:     sourcev1.GroupVersion.WithKind(sourcev1.HelmRepositoryKind),
		New:     func() client.Object { return &sourcev1.HelmRepository{} },
		NewList: func() client.ObjectList { return &sourcev1.HelmRepositoryList{} },
		Revision: func(o client.Object) string {
			return artifactRevision(o.(*sourcev1.HelmRepository).Status.Artifact)
		}},
	{Words: []string{"source", "chart"}, Aliases: []string{"helmchart", "helmcharts", "hc"}, Reconcilable: true,
		GVK:     sourcev1.GroupVersion.WithKind(sourcev1.HelmChartKind),
		New:     func() client.Object { return &sourcev1.HelmChart{} },
		NewList: func() client.ObjectList { return &sourcev1.HelmChartList{} },
		Revision: func(o client.Object) string {
			return artifactRevision(o.(*sourcev1.HelmChart).Status.Artifact)
		}},
	{Words: []string{"source", "bucket"}, Aliases: []string{"bucket", "buckets"}, Reconcilable: true,
		GVK:     sourcev1.GroupVersion.WithKind(sourcev1.BucketKind),
		New:     func() client.Object { return &sourcev1.Bucket{} },
		NewList: func() client.ObjectList { return &sourcev1.BucketList{} },
		Revision: func(o client.Object) string {
			return artifactRevision(o.(*sourcev1.Bucket).Status.Artifact)
		}},
	{Words: []string{"source", "external"}, Aliases: []string{"externalartifact", "externalartifacts"},
		GVK:     sourcev1.GroupVersion.WithKind(sourcev1.ExternalArtifactKind),
		New:     func() client.Object { return &sourcev1.ExternalArtifact{} },
		NewList: func() client.ObjectList { return &sourcev1.ExternalArtifactList{} },
		Revision: func(o client.Object) string {
			return artifactRevision(o.(*sourcev1.ExternalArtifact).GetArtifact())
		}},
	{Words: []string{"artifact", "generator"}, Aliases: []string{"artifact generators", "artifactgenerator", "artifactgenerators"}, Reconcilable: true,
		GVK:      sourceextv1beta1.GroupVersion.WithKind(sourceextv1beta1.ArtifactGeneratorKind),
		New:      func() client.Object { return &sourceextv1beta1.ArtifactGenerator{} },
		NewList:  func() client.ObjectList { return &sourceextv1beta1.ArtifactGeneratorList{} },
		Revision: func(client.Object) string { return "" }},
	{Words: []string{"kustomization"}, Aliases: []string{"kustomizations", "ks"}, Reconcilable: true,
		GVK:     kustomizev1.GroupVersion.WithKind(kustomizev1.KustomizationKind),
		New:     func() client.Object { return &kustomizev1.Kustomization{} },
		NewList: func() client.ObjectList { return &kustomizev1.KustomizationList{} },
		Revision: func(o client.Object) string {
			return o.(*kustomizev1.Kustomization).Status.LastAppliedRevision
		},
		Source: func(o client.Object) (string, string, string, bool) {
			ks := o.(*kustomizev1.Kustomization)
			ns := ks.Spec.SourceRef.Namespace
			if ns == "" {
				ns = ks.Namespace
			}
			return ks.Spec.SourceRef.Kind, ns, ks.Spec.SourceRef.Name, true
		}},
	{Words: []string{"helmrelease"}, Aliases: []string{"helmreleases", "hr"}, Reconcilable: true,
		GVK:     helmv2.GroupVersion.WithKind(helmv2.HelmReleaseKind),
		New:     func() client.Object { return &helmv2.HelmRelease{} },
		NewList: func() client.ObjectList { return &helmv2.HelmReleaseList{} },
		Revision: func(o client.Object) string {
			return o.(*helmv2.HelmRelease).Status.LastAttemptedRevision
		},
		// The chart's source: spec.chartRef, else the HelmChart the
		// controller made for spec.chart (known once it has reconciled).
		Source: func(o client.Object) (string, string, string, bool) {
			hr := o.(*helmv2.HelmRelease)
			if ref := hr.Spec.ChartRef; ref != nil {
				ns := ref.Namespace
				if ns == "" {
					ns = hr.Namespace
				}
				return ref.Kind, ns, ref.Name, true
			}
			ns, name, ok := strings.Cut(hr.Status.HelmChart, "/")
			return sourcev1.HelmChartKind, ns, name, ok
		}},
	{Words: []string{"image", "repository"}, Aliases: []string{"imagerepository", "imagerepositories", "imagerepo"}, Reconcilable: true,
		GVK:     imagev1.GroupVersion.WithKind(imagev1.ImageRepositoryKind),
		New:     func() client.Object { return &imagev1.ImageRepository{} },
		NewList: func() client.ObjectList { return &imagev1.ImageRepositoryList{} },
		Revision: func(o client.Object) string {
			if r := o.(*imagev1.ImageRepository).Status.LastScanResult; r != nil {
				return fmt.Sprintf("%d tags", r.TagCount)
			}
			return ""
		}},
	{Words: []string{"image", "policy"}, Aliases: []string{"imagepolicy", "imagepolicies", "imagepol"}, Reconcilable: true,
		GVK:     imagev1.GroupVersion.WithKind(imagev1.ImagePolicyKind),
		New:     func() client.Object { return &imagev1.ImagePolicy{} },
		NewList: func() client.ObjectList { return &imagev1.ImagePolicyList{} },
		Revision: func(o client.Object) string {
			if r := o.(*imagev1.ImagePolicy).Status.LatestRef; r != nil {
				return r.Name + ":" + r.Tag
			}
			return ""
		}},
	{Words: []string{"image", "update"}, Aliases: []string{"imageupdateautomation", "imageupdateautomations", "imgauto"}, Reconcilable: true,
		GVK:     imagev1.GroupVersion.WithKind(imagev1.ImageUpdateAutomationKind),
		New:     func() client.Object { return &imagev1.ImageUpdateAutomation{} },
		NewList: func() client.ObjectList { return &imagev1.ImageUpdateAutomationList{} },
		Revision: func(o client.Object) string {
			return o.(*imagev1.ImageUpdateAutomation).Status.LastPushCommit
		}},
	{Words: []string{"receiver"}, Aliases: []string{"receivers"}, Reconcilable: true,
		GVK:      notificationv1.GroupVersion.WithKind(notificationv1.ReceiverKind),
		New:      func() client.Object { return &notificationv1.Receiver{} },
		NewList:  func() client.ObjectList { return &notificationv1.ReceiverList{} },
		Revision: func(client.Object) string { return "" }},
	{Words: []string{"alert"}, Aliases: []string{"alerts"},
		GVK:      notificationv1beta3.GroupVersion.WithKind(notificationv1beta3.AlertKind),
		New:      func() client.Object { return &notificationv1beta3.Alert{} },
		NewList:  func() client.ObjectList { return &notificationv1beta3.AlertList{} },
		Revision: func(client.Object) string { return "" }},
	{Words: []string{"alert-provider"}, Aliases: []string{"alert-providers", "provider", "providers"},
		GVK:      notificationv1beta3.GroupVersion.WithKind(notificationv1beta3.ProviderKind),
		New:      func() client.Object { return &notificationv1beta3.Provider{} },
		NewList:  func() client.ObjectList { return &notificationv1beta3.ProviderList{} },
		Revision: func(client.Object) string { return "" }},
}

// Lookup finds the kind named by words ("source git", "ks", "kustomization").
func Lookup(words ...string) (Kind, error) {
	joined := strings.ToLower(strings.Join(words, " "))
	for _, k := range All {
		if k.Name() == joined {
			return k, nil
		}
		for _, a := range k.Aliases {
			if a == joined {
				return k, nil
			}
		}
	}
	return Kind{}, fmt.Errorf("unknown kind %q (known: %s)", joined, strings.Join(Names(), ", "))
}

// ByKind finds the kind with the API kind name (e.g. "GitRepository").
func ByKind(kind string) (Kind, error) {
	for _, k := range All {
		if k.GVK.Kind == kind {
			return k, nil
		}
	}
	return Kind{}, fmt.Errorf("unknown API kind %q", kind)
}

// Names lists the CLI names of every kind.
func Names() []string {
	var out []string
	for _, k := range All {
		out = append(out, k.Name())
	}
	return out
}

// Suspended reports spec.suspend of any gotk object.
func Suspended(o client.Object) bool {
	if s, ok := o.(interface{ IsSuspended() bool }); ok {
		return s.IsSuspended()
	}
	return false
}

// Reconciled is what the CLI reads of a reconciled gotk object: its
// conditions, its handled request and observed generation. (Not the
// reconcile skeleton's own interface: that package links the controller
// manager, which the UI's small binary leaves out.)
type Reconciled interface {
	client.Object
	meta.ObjectWithConditions
	meta.StatusWithHandledReconcileRequest
	// GetObservedGeneration returns status.observedGeneration.
	GetObservedGeneration() int64
}
