// Package predicates holds the event filters every gotk controller shares.
package predicates

import (
	"github.com/fluxcd/pkg/apis/meta"
	fluxpredicates "github.com/fluxcd/pkg/runtime/predicates"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// GenerationOrRequest passes updates that change the spec (generation) or
// carry a new reconcile.fluxcd.io/requestedAt value.
func GenerationOrRequest() predicate.Predicate {
	return predicate.Or(predicate.GenerationChangedPredicate{}, fluxpredicates.ReconcileRequestedPredicate{})
}

// ArtifactSource is a source kind that publishes an artifact.
type ArtifactSource interface {
	GetArtifact() *meta.Artifact
}

// SourceRevisionChanged passes updates of a source whose artifact appeared
// or changed revision or digest; consumers watch sources with it.
type SourceRevisionChanged struct {
	predicate.Funcs
}

// Update compares the old and new artifacts.
func (SourceRevisionChanged) Update(e event.UpdateEvent) bool {
	oldSrc, okOld := e.ObjectOld.(ArtifactSource)
	newSrc, okNew := e.ObjectNew.(ArtifactSource)
	if !okOld || !okNew {
		return false
	}
	return ArtifactChanged(oldSrc.GetArtifact(), newSrc.GetArtifact())
}

// Create and Delete pass: a consumer must notice a source appearing or leaving.
func (SourceRevisionChanged) Create(event.CreateEvent) bool { return true }

// Delete passes so consumers report the missing source.
func (SourceRevisionChanged) Delete(event.DeleteEvent) bool { return true }

// Generic does not pass.
func (SourceRevisionChanged) Generic(event.GenericEvent) bool { return false }

// ArtifactChanged reports whether a consumer has new content to act on.
func ArtifactChanged(old, cur *meta.Artifact) bool {
	switch {
	case cur == nil:
		return false
	case old == nil:
		return true
	default:
		return old.Revision != cur.Revision || old.Digest != cur.Digest
	}
}
