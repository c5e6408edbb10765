package controller

import (
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	sourceextv1beta1 "gotk.dev/pkg/apis/sourceextensions/v1beta1"
)

// Kinds are the top-level kinds this controller reconciles: the only ones
// its --watch-label-selector shards; what they refer to stays visible.
func Kinds() []client.Object {
	return []client.Object{&sourcev1.GitRepository{}, &sourcev1.OCIRepository{}, &sourcev1.HelmRepository{}, &sourcev1.HelmChart{}, &sourcev1.Bucket{}, &sourceextv1beta1.ArtifactGenerator{}}
}
