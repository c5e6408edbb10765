package apply

import (
	"encoding/json"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func entry(manager string, op metav1.ManagedFieldsOperationType, subresource, fields string) metav1.ManagedFieldsEntry {
	return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, APIVersion: "v1", Subresource: subresource,
		FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)}}
}

// takeoverFields applies takeoverPatch and returns manager -> fields of
// the patched managedFields, or nil when there is no patch.
func takeoverFields(t *testing.T, desired, live *unstructured.Unstructured, ignored [][]string) map[string]string {
	t.Helper()
	p, err := takeoverPatch(desired, live, "kustomize-controller", ignored)
	if err != nil {
		t.Fatal(err)
	}
	if p == nil {
		return nil
	}
	data, err := p.Data(nil)
	if err != nil {
		t.Fatal(err)
	}
	var patch struct {
		Metadata struct {
			ResourceVersion string                      `json:"resourceVersion"`
			ManagedFields   []metav1.ManagedFieldsEntry `json:"managedFields"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(data, &patch); err != nil {
		t.Fatal(err)
	}
	if patch.Metadata.ResourceVersion != "7" {
		t.Fatalf("patch without the live resourceVersion: %s", data)
	}
	out := map[string]string{}
	for _, e := range patch.Metadata.ManagedFields {
		out[e.Manager+"/"+string(e.Operation)+"/"+e.Subresource] = string(e.FieldsV1.Raw)
	}
	return out
}

func TestTakeoverPatch(t *testing.T) {
	newLive := func(annotations map[string]string, entries ...metav1.ManagedFieldsEntry) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind("ConfigMap")
		u.SetName("cm")
		u.SetResourceVersion("7")
		u.SetAnnotations(annotations)
		u.SetManagedFields(entries)
		return u
	}
	desired := newLive(nil)
	mine := entry("kustomize-controller", metav1.ManagedFieldsOperationApply, "", `{"f:data":{"f:key":{}}}`)
	edit := entry("kubectl-edit", metav1.ManagedFieldsOperationUpdate, "", `{"f:data":{"f:extra":{}},"f:spec":{"f:replicas":{}}}`)
	other := entry("autoscaler", metav1.ManagedFieldsOperationUpdate, "", `{"f:data":{"f:other":{}}}`)
	scale := entry("kubectl", metav1.ManagedFieldsOperationUpdate, "scale", `{"f:spec":{"f:replicas":{}}}`)

	for _, tc := range []struct {
		name    string
		live    *unstructured.Unstructured
		desired *unstructured.Unstructured
		ignored [][]string
		want    map[string]string
	}{
		{name: "nothing to take over", live: newLive(nil, mine, other, scale)},
		{name: "kubectl edit taken over, others and subresources kept", live: newLive(nil, mine, edit, other, scale), want: map[string]string{
			"kustomize-controller/Apply/": `{"f:data":{"f:extra":{},"f:key":{}},"f:spec":{"f:replicas":{}}}`,
			"autoscaler/Update/":          `{"f:data":{"f:other":{}}}`,
			"kubectl/Update/scale":        `{"f:spec":{"f:replicas":{}}}`,
		}},
		{name: "ignored fields stay with their manager", live: newLive(nil, mine, edit), ignored: [][]string{{"spec", "replicas"}}, want: map[string]string{
			"kustomize-controller/Apply/": `{"f:data":{"f:extra":{},"f:key":{}}}`,
			"kubectl-edit/Update/":        `{"f:spec":{"f:replicas":{}}}`,
		}},
		{name: "no apply entry yet", live: newLive(nil, edit), want: map[string]string{
			"kustomize-controller/Apply/": `{"f:data":{"f:extra":{}},"f:spec":{"f:replicas":{}}}`,
		}},
		{name: "only the last-applied annotation", live: newLive(map[string]string{lastAppliedAnnotation: "{}"}, mine), want: map[string]string{
			"kustomize-controller/Apply/": `{"f:data":{"f:key":{}}}`,
		}},
		{name: "ssa Merge in the cluster", live: newLive(map[string]string{"kustomize.toolkit.fluxcd.io/ssa": "Merge"}, mine, edit)},
		{name: "ssa Merge in the source", live: newLive(nil, mine, edit),
			desired: func() *unstructured.Unstructured {
				return newLive(map[string]string{"kustomize.toolkit.fluxcd.io/ssa": "merge"})
			}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := desired
			if tc.desired != nil {
				d = tc.desired
			}
			got := takeoverFields(t, d, tc.live, tc.ignored)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("%s: got %s, want %s (all: %v)", k, got[k], v, got)
				}
			}
		})
	}
}
