package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/notification-controller/internal/celexpr"
)

// filterVars are what spec.resourceFilter and resources[].filter see
// besides the object (`res`): the request body as JSON (`req`) and the
// verified token's claims (`claims`, empty for types without a token).
type filterVars struct {
	req    map[string]any
	claims map[string]any
}

// filterInput decodes a JSON object body for the filters; any other body
// is an empty `req`.
func filterInput(_ http.Header, body []byte, claims map[string]any) filterVars {
	req := map[string]any{}
	if err := json.Unmarshal(body, &req); err != nil {
		req = map[string]any{}
	}
	if claims == nil {
		claims = map[string]any{}
	}
	return filterVars{req: req, claims: claims}
}

// selectedByFilters reads the object and evaluates every filter over it;
// all must give true (spec.resourceFilter and the entry's filter are ANDed).
func (s *ReceiverServer) selectedByFilters(ctx context.Context, gvk schema.GroupVersionKind, key client.ObjectKey, filters []string, in filterVars) (bool, error) {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(gvk)
	if err := s.APIReader.Get(ctx, key, obj); err != nil {
		return false, fmt.Errorf("reading %s %s for the filter: %w", gvk.Kind, key, err)
	}
	vars := map[string]any{"res": obj.Object, "req": in.req, "claims": in.claims}
	for _, f := range filters {
		ok, err := celexpr.Bool(f, vars)
		if err != nil {
			return false, fmt.Errorf("filter on %s %s: %w", gvk.Kind, key, err)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}
