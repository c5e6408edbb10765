package server

import (
	"context"
	"fmt"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/notification-controller/internal/resourceref"
	notificationv1 "gotk.dev/pkg/apis/notification/v1"
)

// annotate sets reconcile.fluxcd.io/requestedAt on every selected object
// that passes the CEL filters and returns how many it patched. Every resource is tried; the first
// error is returned after the others were attempted.
func (s *ReceiverServer) annotate(ctx context.Context, rcv *notificationv1.Receiver, in filterVars) (int, error) {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{meta.ReconcileRequestAnnotation: metav1.Now().String()},
	}})
	if err != nil {
		return 0, err
	}
	count := 0
	var firstErr error
	keep := func(err error) {
		if firstErr == nil {
			firstErr = err
		}
	}
	for _, ref := range rcv.Spec.Resources {
		gvk, err := resourceref.ResourceGVK(ref)
		if err != nil {
			keep(err)
			continue
		}
		ns := ref.Namespace
		if ns == "" {
			ns = rcv.Namespace
		}
		if s.NoCrossNamespaceRefs && ns != rcv.Namespace {
			keep(fmt.Errorf("%s %s/%s: cross-namespace references are disabled", ref.Kind, ns, ref.Name))
			continue
		}
		var targets []client.ObjectKey
		if ref.Name == "*" {
			list := &metav1.PartialObjectMetadataList{}
			list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
			opts := []client.ListOption{client.InNamespace(ns)}
			if len(ref.MatchLabels) > 0 {
				opts = append(opts, client.MatchingLabels(ref.MatchLabels))
			}
			if err := s.APIReader.List(ctx, list, opts...); err != nil {
				keep(fmt.Errorf("listing %s in %s: %w", ref.Kind, ns, err))
				continue
			}
			for _, item := range list.Items {
				targets = append(targets, client.ObjectKey{Namespace: ns, Name: item.Name})
			}
		} else {
			targets = append(targets, client.ObjectKey{Namespace: ns, Name: ref.Name})
		}
		var filters []string
		for _, f := range []string{rcv.Spec.ResourceFilter, ref.Filter} {
			if f != "" {
				filters = append(filters, f)
			}
		}
		for _, key := range targets {
			if len(filters) > 0 {
				ok, err := s.selectedByFilters(ctx, gvk, key, filters, in)
				if err != nil {
					keep(err)
					continue
				}
				if !ok {
					continue
				}
			}
			obj := &metav1.PartialObjectMetadata{}
			obj.SetGroupVersionKind(gvk)
			obj.SetNamespace(key.Namespace)
			obj.SetName(key.Name)
			if err := s.Client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch)); err != nil {
				keep(fmt.Errorf("annotating %s %s: %w", ref.Kind, key, err))
				continue
			}
			count++
		}
	}
	return count, firstErr
}
