package drift

import (
	"crypto/sha256"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

// slim is the informers' transform: it keeps of a watched object's
// metadata only what the watcher reads (name, namespace, UID, resource
// version, deletion, the owner labels and the field managers), so the
// cache of every applied object costs a fraction of its full metadata.
// The field sets of this controller's apply and of status writers are
// only ever compared, never read, so they are kept as a digest; other
// writers' field sets stay whole, as a fight names their fields.
func (w *Watcher) slim(obj any) (any, error) {
	o, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	labels := make(map[string]string, 2)
	for _, k := range []string{kustomizev1.NameLabel, kustomizev1.NamespaceLabel} {
		if v, ok := o.Labels[k]; ok {
			labels[k] = v
		}
	}
	managed := make([]metav1.ManagedFieldsEntry, len(o.ManagedFields))
	for i, e := range o.ManagedFields {
		if e.FieldsV1 != nil && (e.Manager == w.FieldManager || e.Subresource == "status") {
			sum := sha256.Sum256(e.FieldsV1.Raw)
			e.FieldsV1 = &metav1.FieldsV1{Raw: sum[:]}
		}
		managed[i] = e
	}
	return &metav1.PartialObjectMetadata{TypeMeta: o.TypeMeta, ObjectMeta: metav1.ObjectMeta{
		Name: o.Name, Namespace: o.Namespace, UID: o.UID, ResourceVersion: o.ResourceVersion,
		DeletionTimestamp: o.DeletionTimestamp, Labels: labels, ManagedFields: managed,
	}}, nil
}
