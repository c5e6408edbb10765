package cmd

import (
	"context"
	"fmt"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/catalog"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	sourceextv1beta1 "gotk.dev/pkg/apis/sourceextensions/v1beta1"
)

// reconcilableSource resolves the source --with-source reconciles for an
// object whose source is kind/key. An ExternalArtifact has no reconciler
// of its own (annotating it does nothing), so the ArtifactGenerator its
// spec.sourceRef names stands in for it. ok is false, with a note saying
// why, when there is nothing gotk can reconcile.
func reconcilableSource(ctx context.Context, c client.Client, kind string, key client.ObjectKey) (k catalog.Kind, src client.ObjectKey, ok bool, note string, err error) {
	if kind == sourcev1.ExternalArtifactKind {
		ea := &sourcev1.ExternalArtifact{}
		if err := c.Get(ctx, key, ea); err != nil {
			return k, src, false, "", fmt.Errorf("source ExternalArtifact %s: %w", key, err)
		}
		ref := ea.Spec.SourceRef
		if ref == nil || ref.Kind != sourceextv1beta1.ArtifactGeneratorKind ||
			(ref.APIVersion != "" && !strings.HasPrefix(ref.APIVersion, sourceextv1beta1.GroupVersion.Group+"/")) {
			return k, src, false, fmt.Sprintf("ExternalArtifact %s is not produced by an ArtifactGenerator; its producer reconciles it", key), nil
		}
		kind, key = ref.Kind, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}
		if key.Namespace == "" {
			key.Namespace = ea.Namespace
		}
	}
	k, err = catalog.ByKind(kind)
	if err != nil {
		return k, src, false, "", err
	}
	if !k.Reconcilable {
		return k, src, false, fmt.Sprintf("%s objects have no reconciler", k.Name()), nil
	}
	return k, key, true, "", nil
}
