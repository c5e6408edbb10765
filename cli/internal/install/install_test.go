package install

import (
	"path"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"gotk.dev/pkg/imagebuild"
	"gotk.dev/pkg/version"
)

// TestDeploymentsRunTheBuiltImages: every Deployment pulls an image that
// `make images` builds, at the version both default to, and runs the
// image's entrypoint (no command override, or the same path).
func TestDeploymentsRunTheBuiltImages(t *testing.T) {
	g := NewWithT(t)
	objs, err := Objects(DefaultOptions())
	g.Expect(err).NotTo(HaveOccurred())
	var deployed []string
	for _, obj := range objs {
		if v, ok := obj.GetLabels()["app.kubernetes.io/version"]; ok {
			g.Expect(v).To(Equal(version.Version), "%s %s: version label", obj.GetKind(), obj.GetName())
		}
		if obj.GetKind() != "Deployment" {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
		g.Expect(containers).To(HaveLen(1), obj.GetName())
		c := containers[0].(map[string]any)
		image := c["image"].(string)
		repo, tag, _ := strings.Cut(image, ":")
		g.Expect(path.Dir(repo)).To(Equal(imagebuild.DefaultRegistry), image)
		g.Expect(tag).To(Equal(version.Version), image)
		built, err := imagebuild.ComponentsByName([]string{path.Base(repo)})
		g.Expect(err).NotTo(HaveOccurred(), "%s: no image of that name is built", image)
		g.Expect(built[0].Entrypoint).To(Equal(imagebuild.ControllerEntrypoint))
		if cmd, ok := c["command"].([]any); ok {
			g.Expect(cmd).To(HaveExactElements(imagebuild.ControllerEntrypoint), obj.GetName())
		}
		deployed = append(deployed, obj.GetName())
	}
	g.Expect(deployed).To(ConsistOf(Components))
}

func TestSelectComponents(t *testing.T) {
	tests := []struct {
		name              string
		components, extra []string
		want              []string
		err               string
	}{
		{name: "gotk names, any order", components: []string{"kustomize-controller", "source-controller"},
			want: []string{"source-controller", "kustomize-controller"}},
		{name: "flux's extras", components: []string{"source-controller"}, extra: []string{"image-reflector-controller", "image-automation-controller"},
			want: []string{"source-controller", "image-automation-controller"}},
		{name: "alias in --components", components: []string{"source-controller", "image-reflector-controller"},
			want: []string{"source-controller", "image-automation-controller"}},
		{name: "source-watcher", components: []string{"source-controller"}, extra: []string{"source-watcher"},
			want: []string{"source-controller"}},
		{name: "the web UI", components: []string{"source-controller"}, extra: []string{"ui", "source-controller"},
			want: []string{"source-controller", "ui"}},
		{name: "unknown extra", components: Components, extra: []string{"tf-controller"},
			err: `--components-extra: unknown component "tf-controller"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := SelectComponents(tt.components, tt.extra)
			if tt.err != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.err)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))
		})
	}
}

func TestRewriteImage(t *testing.T) {
	tests := []struct{ image, registry, tag, want string }{
		{"ghcr.io/gotk/source-controller:v0.1.0", "", "v0.2.0", "ghcr.io/gotk/source-controller:v0.2.0"},
		{"ghcr.io/gotk/source-controller:v0.1.0", "localhost:5001/gotk", "v1", "localhost:5001/gotk/source-controller:v1"},
		{"localhost:5001/gotk/source-controller", "registry.example.com/", "v1", "registry.example.com/source-controller:v1"},
	}
	for _, tt := range tests {
		NewWithT(t).Expect(rewriteImage(tt.image, tt.registry, tt.tag)).To(Equal(tt.want))
	}
}
