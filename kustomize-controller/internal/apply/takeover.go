package apply

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

// lastAppliedAnnotation is what kubectl's client-side apply diffs against;
// once the controller owns the object it is stale and misleading.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// takeoverManagers are the field managers of kubectl (client-side apply,
// edit, scale, server-side apply) and of the controller's own past Update
// requests. Fields they own stay when a server-side apply stops setting
// them, so a field removed from the source would live on; the controller
// takes their fields over before applying, as Flux does.
var takeoverManagers = []struct {
	name string
	op   metav1.ManagedFieldsOperationType
}{
	{"kubectl", metav1.ManagedFieldsOperationApply},
	{"kubectl", metav1.ManagedFieldsOperationUpdate},
	{"kubectl-client-side-apply", metav1.ManagedFieldsOperationUpdate},
	{"kubectl-edit", metav1.ManagedFieldsOperationUpdate},
	{"before-first-apply", metav1.ManagedFieldsOperationUpdate},
}

func takenOver(e metav1.ManagedFieldsEntry, fieldManager string) bool {
	if e.Subresource != "" {
		return false // status and scale belong to other controllers
	}
	if e.Manager == fieldManager && e.Operation == metav1.ManagedFieldsOperationUpdate {
		return true
	}
	for _, m := range takeoverManagers {
		if e.Manager == m.name && e.Operation == m.op {
			return true
		}
	}
	return false
}

// takeoverPatch returns a merge patch that moves the fields of the
// takeover managers of live into fieldManager's apply entry and drops
// kubectl's last-applied annotation, or nil when there is nothing to take
// over. Objects annotated ssa: Merge (in the source or in the cluster)
// keep other managers' fields, and fields under an ignored path stay with
// their manager (taking them over and then not applying them would delete
// them). The patch carries live's resourceVersion, so it fails rather than
// overwrite ownership that changed meanwhile.
func takeoverPatch(desired, live *unstructured.Unstructured, fieldManager string, ignored [][]string) (client.Patch, error) {
	for _, u := range []*unstructured.Unstructured{desired, live} {
		if strings.EqualFold(u.GetAnnotations()[kustomizev1.SSAAnnotation], kustomizev1.MergeValue) {
			return nil, nil
		}
	}
	entries := live.GetManagedFields()
	_, hasLastApplied := live.GetAnnotations()[lastAppliedAnnotation]
	owned := &fieldpath.Set{}
	var kept []metav1.ManagedFieldsEntry
	mine := -1
	found := false
	for _, e := range entries {
		if !takenOver(e, fieldManager) {
			if e.Manager == fieldManager && e.Operation == metav1.ManagedFieldsOperationApply && e.Subresource == "" {
				mine = len(kept)
			}
			kept = append(kept, e)
			continue
		}
		found = true
		if e.FieldsV1 == nil {
			continue
		}
		s := &fieldpath.Set{}
		if err := s.FromJSON(bytes.NewReader(e.FieldsV1.Raw)); err != nil {
			return nil, fmt.Errorf("reading the fields of manager %q: %w", e.Manager, err)
		}
		taken, left := splitIgnored(s, ignored)
		owned = owned.Union(taken)
		if !left.Empty() {
			raw, err := left.ToJSON()
			if err != nil {
				return nil, err
			}
			e.FieldsV1 = &metav1.FieldsV1{Raw: raw}
			kept = append(kept, e)
		}
	}
	if !found && !hasLastApplied {
		return nil, nil
	}
	if mine < 0 {
		now := metav1.Now()
		kept = append(kept, metav1.ManagedFieldsEntry{Manager: fieldManager, Operation: metav1.ManagedFieldsOperationApply,
			APIVersion: live.GetAPIVersion(), Time: &now, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte("{}")}})
		mine = len(kept) - 1
	}
	if kept[mine].FieldsV1 != nil {
		s := &fieldpath.Set{}
		if err := s.FromJSON(bytes.NewReader(kept[mine].FieldsV1.Raw)); err != nil {
			return nil, fmt.Errorf("reading the fields of manager %q: %w", fieldManager, err)
		}
		owned = owned.Union(s)
	}
	raw, err := owned.ToJSON()
	if err != nil {
		return nil, err
	}
	kept[mine].FieldsType = "FieldsV1"
	kept[mine].FieldsV1 = &metav1.FieldsV1{Raw: raw}
	md := map[string]any{"resourceVersion": live.GetResourceVersion(), "managedFields": kept}
	if hasLastApplied {
		md["annotations"] = map[string]any{lastAppliedAnnotation: nil}
	}
	data, err := json.Marshal(map[string]any{"metadata": md})
	if err != nil {
		return nil, err
	}
	return client.RawPatch(types.MergePatchType, data), nil
}

// splitIgnored splits a field set into the fields outside every ignored
// path and those under one (kept by their manager).
func splitIgnored(s *fieldpath.Set, ignored [][]string) (taken, left *fieldpath.Set) {
	if len(ignored) == 0 {
		return s, &fieldpath.Set{}
	}
	taken, left = &fieldpath.Set{}, &fieldpath.Set{}
	s.Iterate(func(p fieldpath.Path) {
		for _, ig := range ignored {
			if underPath(p, ig) {
				left.Insert(p.Copy())
				return
			}
		}
		taken.Insert(p.Copy())
	})
	return taken, left
}

// underPath reports whether p is the field path segs or below it.
func underPath(p fieldpath.Path, segs []string) bool {
	if len(segs) == 0 || len(p) < len(segs) {
		return false
	}
	for i, s := range segs {
		if p[i].FieldName == nil || *p[i].FieldName != s {
			return false
		}
	}
	return true
}

// takeOver sends a takeover patch made from an earlier read of the
// object. The patch carries that read's resourceVersion, so a write in
// between (the object's own controller adding a finalizer or status,
// say) makes the API server refuse it; the object is then read again and
// the patch made anew from what it holds now.
func (m *Manager) takeOver(ctx context.Context, desired *unstructured.Unstructured, patch client.Patch, ignored [][]string) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if patch == nil {
			live := &unstructured.Unstructured{}
			live.SetGroupVersionKind(desired.GroupVersionKind())
			if err := m.Client.Get(ctx, client.ObjectKeyFromObject(desired), live); err != nil {
				return err
			}
			fresh, err := takeoverPatch(desired, live, m.FieldManager, ignored)
			if err != nil || fresh == nil {
				return err
			}
			patch = fresh
		}
		err := m.Client.Patch(ctx, desired.DeepCopy(), patch)
		patch = nil
		return err
	})
}
