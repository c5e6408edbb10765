package drift

import (
	"context"
	"encoding/base64"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CompareFields compares without a dry-run, for an identity that may read
// but not patch: each field the desired object sets against the live
// object's value of that field. It is approximate: the API server's
// defaults of fields the desired object sets differently, fields
// server-side apply would remove, and admission changes are not seen.
func CompareFields(ctx context.Context, c client.Reader, objs []*unstructured.Unstructured, toFile string) ([]Change, error) {
	return compare(objs, toFile, func(obj *unstructured.Unstructured) (*unstructured.Unstructured, *unstructured.Unstructured, error) {
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(obj.GroupVersionKind())
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
			if apierrors.IsForbidden(err) {
				return nil, nil, fmt.Errorf("reading it: %w", err)
			}
			return nil, nil, err
		}
		desired := obj.DeepCopy()
		secretStringData(desired)
		return &unstructured.Unstructured{Object: project(live.Object, desired.Object).(map[string]any)}, desired, nil
	})
}

// project keeps of live only what desired sets: maps key by key, lists
// element by element (live's extra elements stay, so a removed or added
// element shows); any other value is live's own.
func project(live, desired any) any {
	switch d := desired.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return live
		}
		out := make(map[string]any, len(d))
		for k, dv := range d {
			if lv, ok := l[k]; ok {
				out[k] = project(lv, dv)
			}
		}
		return out
	case []any:
		l, ok := live.([]any)
		if !ok {
			return live
		}
		out := make([]any, len(l))
		for i, lv := range l {
			if i < len(d) {
				lv = project(lv, d[i])
			}
			out[i] = lv
		}
		return out
	default:
		return live
	}
}

// secretStringData moves a Secret's stringData into data, base64-encoded,
// as the API server stores it, so the two sides compare.
func secretStringData(u *unstructured.Unstructured) {
	if u.GetKind() != "Secret" || u.GroupVersionKind().Group != "" {
		return
	}
	sd, _ := u.Object["stringData"].(map[string]any)
	if len(sd) == 0 {
		return
	}
	data, _ := u.Object["data"].(map[string]any)
	if data == nil {
		data = map[string]any{}
	}
	for k, v := range sd {
		if s, ok := v.(string); ok {
			data[k] = base64.StdEncoding.EncodeToString([]byte(s))
		}
	}
	u.Object["data"] = data
	delete(u.Object, "stringData")
}
