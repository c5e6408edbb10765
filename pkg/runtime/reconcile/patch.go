package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// patcher writes what a reconcile changed with at most two requests: one
// merge patch of metadata and spec (finalizers) and one merge patch of the
// status subresource carrying every changed status field, conditions
// included. One status request means a reader never sees the conditions of
// a reconcile next to the rest of the status of the one before, and it
// costs the API server one write instead of a read and two writes. The
// controller owns its objects' status, so no optimistic lock is taken.
type patcher[T Object] struct {
	client client.Client
	owner  string
	before map[string]any
}

func newPatcher[T Object](c client.Client, owner string, obj T) (*patcher[T], error) {
	before, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	return &patcher[T]{client: c, owner: owner, before: before}, nil
}

// Patch sends obj's changes since the last Patch (or newPatcher). obj
// itself is not touched: the server's answers go to a copy, so a metadata
// patch cannot overwrite the status still to be written.
func (p *patcher[T]) Patch(ctx context.Context, obj T) error {
	after, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return err
	}
	mainPatch, err := mergePatch(withoutStatus(p.before), withoutStatus(after))
	if err != nil {
		return err
	}
	statusPatch, err := mergePatch(onlyStatus(p.before), onlyStatus(after))
	if err != nil {
		return err
	}
	var errs []error
	if mainPatch != nil || statusPatch != nil {
		// The patches name the object through target; the server's answers land there.
		target := obj.DeepCopyObject().(client.Object)
		if mainPatch != nil {
			errs = append(errs, p.client.Patch(ctx, target, client.RawPatch(types.MergePatchType, mainPatch), client.FieldOwner(p.owner)))
		}
		if statusPatch != nil {
			errs = append(errs, p.client.Status().Patch(ctx, target, client.RawPatch(types.MergePatchType, statusPatch),
				&client.SubResourcePatchOptions{PatchOptions: client.PatchOptions{FieldManager: p.owner}}))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	p.before = after
	return nil
}

// mergePatch returns the JSON merge patch from before to after, or nil
// when they are equal.
func mergePatch(before, after map[string]any) ([]byte, error) {
	if equality.Semantic.DeepEqual(before, after) {
		return nil, nil
	}
	b, err := json.Marshal(before)
	if err != nil {
		return nil, err
	}
	a, err := json.Marshal(after)
	if err != nil {
		return nil, err
	}
	data, err := jsonpatch.CreateMergePatch(b, a)
	if err != nil {
		return nil, fmt.Errorf("computing the patch: %w", err)
	}
	if string(data) == "{}" {
		return nil, nil
	}
	return data, nil
}

func withoutStatus(u map[string]any) map[string]any {
	out := make(map[string]any, len(u))
	for k, v := range u {
		if k != "status" {
			out[k] = v
		}
	}
	return out
}

func onlyStatus(u map[string]any) map[string]any {
	return map[string]any{"status": u["status"]}
}
