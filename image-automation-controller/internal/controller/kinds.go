package controller

import (
	"sigs.k8s.io/controller-runtime/pkg/client"

	imagev1 "gotk.dev/pkg/apis/image/v1"
)

// Kinds are the top-level kinds this controller reconciles: the only ones
// its --watch-label-selector shards; what they refer to stays visible.
func Kinds() []client.Object {
	return []client.Object{&imagev1.ImageRepository{}, &imagev1.ImagePolicy{}, &imagev1.ImageUpdateAutomation{}}
}
