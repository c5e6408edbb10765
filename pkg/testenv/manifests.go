package testenv

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DecodeManifests splits multi-document YAML (or JSON) into objects,
// skipping empty documents.
func DecodeManifests(text string) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(text), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			return objs, nil
		} else if err != nil {
			return nil, err
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

// ApplyYAML server-side applies every object of a multi-document YAML
// text through c, as `kubectl apply --server-side -f` would; t fails on
// the first error.
func ApplyYAML(ctx context.Context, t testing.TB, c client.Client, text string) {
	t.Helper()
	objs, err := DecodeManifests(text)
	if err != nil {
		t.Fatalf("decoding: %v\n%s", err, text)
	}
	for _, u := range objs {
		if err := c.Patch(ctx, u, client.Apply, client.FieldOwner("kubectl"), client.ForceOwnership); err != nil {
			t.Fatalf("applying %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
}
