package catalog

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourceextv1beta1 "gotk.dev/pkg/apis/sourceextensions/v1beta1"
)

// RequestReconcile sets reconcile.fluxcd.io/requestedAt on obj (as
// `gotk reconcile` does) and returns the token the controller copies to
// status.lastHandledReconcileAt once it has handled the request.
//
// Each of also (e.g. helm-controller's forceAt, resetAt) gets the same
// token, which makes the controller handle that request with this one.
func RequestReconcile(ctx context.Context, c client.Client, obj client.Object, also ...string) (string, error) {
	token := time.Now().Format(time.RFC3339Nano)
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[meta.ReconcileRequestAnnotation] = token
	for _, a := range also {
		ann[a] = token
	}
	obj.SetAnnotations(ann)
	if err := c.Patch(ctx, obj, patch); err != nil {
		return "", fmt.Errorf("annotating %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	return token, nil
}

// SetSuspend patches spec.suspend of obj (as `gotk suspend/resume` do).
// An ArtifactGenerator has no spec.suspend: as in Flux, its reconcile
// annotation is set to "disabled" (or removed).
func SetSuspend(ctx context.Context, c client.Client, obj client.Object, suspend bool) error {
	patch := client.RawPatch("application/merge-patch+json", fmt.Appendf(nil, `{"spec":{"suspend":%t}}`, suspend))
	if _, ok := obj.(*sourceextv1beta1.ArtifactGenerator); ok {
		value := "null"
		if suspend {
			value = `"disabled"`
		}
		patch = client.RawPatch("application/merge-patch+json",
			fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%s}}}`, sourceextv1beta1.ReconcileAnnotation, value))
	}
	if err := c.Patch(ctx, obj, patch); err != nil {
		return fmt.Errorf("patching %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

// Resource is the plural API resource of the kind (e.g. "gitrepositories"),
// as authorization checks name it.
func (k Kind) Resource() string {
	l := strings.ToLower(k.GVK.Kind)
	if strings.HasSuffix(l, "y") {
		return strings.TrimSuffix(l, "y") + "ies"
	}
	return l + "s"
}
