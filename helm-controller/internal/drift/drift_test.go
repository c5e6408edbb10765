package drift

import (
	"testing"

	"github.com/fluxcd/pkg/apis/kustomize"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestRemovePointerAndDiff(t *testing.T) {
	g := NewWithT(t)
	a := map[string]any{"spec": map[string]any{"replicas": 1.0, "template": map[string]any{"x": "a"}},
		"metadata": map[string]any{"annotations": map[string]any{"a/b": "1"}}, "list": []any{"x", "y"}}
	b := map[string]any{"spec": map[string]any{"replicas": 3.0, "template": map[string]any{"x": "b"}},
		"metadata": map[string]any{"annotations": map[string]any{"a/b": "2"}}, "list": []any{"x", "z"}}
	g.Expect(diffFields(a, b)).To(Equal([]string{"list", "metadata.annotations", "spec.replicas", "spec.template"}))

	for _, p := range []string{"/spec/replicas", "/metadata/annotations/a~1b", "/list/1", "/spec/template/x", "/nope/deep", "bad", "/list/9"} {
		removePointer(a, p)
		removePointer(b, p)
	}
	g.Expect(diffFields(a, b)).To(BeEmpty())
}

func TestMatches(t *testing.T) {
	g := NewWithT(t)
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("apps/v1")
	u.SetKind("Deployment")
	u.SetName("web-1")
	u.SetNamespace("prod")
	u.SetLabels(map[string]string{"tier": "front"})
	g.Expect(matches(nil, u)).To(BeTrue())
	g.Expect(matches(&kustomize.Selector{Kind: "Deployment", Name: "web-.*", Namespace: "prod"}, u)).To(BeTrue())
	g.Expect(matches(&kustomize.Selector{Group: "apps", LabelSelector: "tier=front"}, u)).To(BeTrue())
	g.Expect(matches(&kustomize.Selector{Kind: "Service"}, u)).To(BeFalse())
	g.Expect(matches(&kustomize.Selector{Name: "web"}, u)).To(BeFalse(), "names match whole")
	g.Expect(matches(&kustomize.Selector{LabelSelector: "tier=back"}, u)).To(BeFalse())
	g.Expect(matches(&kustomize.Selector{Name: "("}, u)).To(BeFalse(), "an invalid expression matches nothing")
}
