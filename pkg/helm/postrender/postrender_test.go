package postrender

import (
	"bytes"
	"testing"

	"github.com/fluxcd/pkg/apis/kustomize"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

const manifests = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 1
  template:
    spec:
      containers:
      - name: app
        image: example.com/app:1.0
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  a: b
`

func TestFor(t *testing.T) {
	g := NewWithT(t)
	hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Name: "rel", Namespace: "ns"}}
	hr.Spec.CommonMetadata = &helmv2.CommonMetadata{Labels: map[string]string{"team": "a", helmv2.NameLabel: "spoof"}, Annotations: map[string]string{"note": "x"}}
	hr.Spec.PostRenderers = []helmv2.PostRenderer{{Kustomize: &helmv2.Kustomize{
		Patches: []kustomize.Patch{{
			Patch:  "- op: replace\n  path: /spec/replicas\n  value: 3\n",
			Target: &kustomize.Selector{Kind: "Deployment", Name: "web"},
		}, {
			Patch: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  extra: yes\n",
		}},
		Images: []kustomize.Image{{Name: "example.com/app", NewTag: "2.0"}},
	}}}
	out, err := For(hr).Run(bytes.NewBufferString(manifests))
	g.Expect(err).NotTo(HaveOccurred())
	s := out.String()
	g.Expect(s).To(ContainSubstring("replicas: 3"))
	g.Expect(s).To(ContainSubstring("image: example.com/app:2.0"))
	g.Expect(s).To(ContainSubstring(`extra: "yes"`))
	g.Expect(s).To(ContainSubstring("team: a"))
	g.Expect(s).To(ContainSubstring("note: x"))
	g.Expect(s).To(ContainSubstring(helmv2.NameLabel+": rel"), "owner labels win over common metadata")
	g.Expect(s).To(ContainSubstring(helmv2.NamespaceLabel + ": ns"))
	g.Expect(s).NotTo(ContainSubstring("spoof"))

	// A digest changes with the post-renderers.
	d1 := Digest(hr)
	hr.Spec.PostRenderers = nil
	g.Expect(Digest(hr)).NotTo(Equal(d1))
}

func TestKustomizeErrors(t *testing.T) {
	g := NewWithT(t)
	k := &Kustomize{Spec: helmv2.Kustomize{Patches: []kustomize.Patch{{Patch: "- op: replace\n  path: /nope/x\n  value: 1\n",
		Target: &kustomize.Selector{Kind: "ConfigMap"}}}}}
	_, err := k.Run(bytes.NewBufferString(manifests))
	g.Expect(err).To(MatchError(ContainSubstring("post-render: kustomize")))

	_, err = For(&helmv2.HelmRelease{}).Run(bytes.NewBufferString("a: [\n"))
	g.Expect(err).To(MatchError(ContainSubstring("post-render: parsing manifests")))
}
