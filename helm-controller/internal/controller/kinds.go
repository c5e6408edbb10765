package controller

import (
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// Kinds are the top-level kinds this controller reconciles: the only ones
// its --watch-label-selector shards; what they refer to stays visible.
func Kinds() []client.Object {
	return []client.Object{&helmv2.HelmRelease{}}
}
