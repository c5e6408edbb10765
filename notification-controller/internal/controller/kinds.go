package controller

import (
	"sigs.k8s.io/controller-runtime/pkg/client"

	notificationv1 "gotk.dev/pkg/apis/notification/v1"
)

// Kinds are the top-level kinds this controller reconciles: the only ones
// its --watch-label-selector shards; what they refer to stays visible.
// Alerts and Providers are not reconciled: the instance an event reaches
// matches it against them all.
func Kinds() []client.Object {
	return []client.Object{&notificationv1.Receiver{}}
}
