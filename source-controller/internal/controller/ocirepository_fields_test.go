package controller

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/oci"
	"gotk.dev/pkg/testserver"
)

// TestOCIRepositoryFields: each case pulls from the test registry with
// one OCIRepository field set and checks the stored artifact.
func TestOCIRepositoryFields(t *testing.T) {
	startOCIHarness(t)
	ctx := context.Background()
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{})
	ns := env.NewNamespace(t)
	ref := reg.Host() + "/org/fields"
	files := map[string]string{"deploy/app.yaml": "replicas: 1\n", "deploy/notes.txt": "not for the cluster\n"}
	d100 := pushArtifact(t, ref+":1.0.0", files, "main@sha1:100", false, nil)
	d120 := pushArtifact(t, ref+":1.2.0", files, "main@sha1:120", false, nil)

	// stored lists the files of the artifact, as a consumer fetches it.
	stored := func(g Gomega, art *meta.Artifact) []string {
		dir := t.TempDir()
		g.Expect(newTestFetcher().Fetch(ctx, art.URL, art.Digest, dir)).To(Succeed())
		var out []string
		g.Expect(filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(dir, p)
				out = append(out, filepath.ToSlash(rel))
			}
			return err
		})).To(Succeed())
		return out
	}
	cases := []struct {
		name   string
		ref    *sourcev1.OCIRepositoryRef
		mutate func(o *sourcev1.OCIRepository)
		check  func(t *testing.T, o *sourcev1.OCIRepository)
	}{
		{name: "default keeps every file", ref: &sourcev1.OCIRepositoryRef{Tag: "1.0.0"},
			check: func(t *testing.T, o *sourcev1.OCIRepository) {
				g := NewWithT(t)
				waitOCIReady(g, o, "1.0.0@"+d100)
				g.Expect(stored(g, o.Status.Artifact)).To(ConsistOf("deploy/app.yaml", "deploy/notes.txt"))
			}},
		{name: "ignore", ref: &sourcev1.OCIRepositoryRef{Tag: "1.0.0"},
			mutate: func(o *sourcev1.OCIRepository) { o.Spec.Ignore = ptrTo("*.txt\n") },
			check: func(t *testing.T, o *sourcev1.OCIRepository) {
				g := NewWithT(t)
				waitOCIReady(g, o, "1.0.0@"+d100)
				g.Expect(stored(g, o.Status.Artifact)).To(ConsistOf("deploy/app.yaml"))
				g.Expect(o.Status.ObservedIgnore).To(Equal(ptrTo("*.txt\n")))
			}},
		{name: "semverFilter", ref: &sourcev1.OCIRepositoryRef{SemVer: ">=1.0.0", SemverFilter: `^1\.0`},
			check: func(t *testing.T, o *sourcev1.OCIRepository) {
				// Without the filter 1.2.0 is the latest.
				waitOCIReady(NewWithT(t), o, "1.0.0@"+d100)
			}},
		{name: "layerSelector operation copy", ref: &sourcev1.OCIRepositoryRef{Tag: "1.2.0"},
			mutate: func(o *sourcev1.OCIRepository) {
				o.Spec.LayerSelector = &sourcev1.OCILayerSelector{MediaType: string(oci.FluxContentMediaType), Operation: "copy"}
			},
			check: func(t *testing.T, o *sourcev1.OCIRepository) {
				g := NewWithT(t)
				waitOCIReady(g, o, "1.2.0@"+d120)
				// The stored artifact is the layer blob itself, not a
				// re-archived extraction.
				r, err := name.ParseReference(ref+":1.2.0", name.Insecure)
				g.Expect(err).NotTo(HaveOccurred())
				img, err := remote.Image(r)
				g.Expect(err).NotTo(HaveOccurred())
				layers, err := img.Layers()
				g.Expect(err).NotTo(HaveOccurred())
				digest, err := layers[0].Digest()
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(o.Status.Artifact.Digest).To(Equal(digest.String()))
			}},
		{name: "suspend", ref: &sourcev1.OCIRepositoryRef{Tag: "1.0.0"},
			mutate: func(o *sourcev1.OCIRepository) { o.Spec.Suspend = true },
			check: func(t *testing.T, o *sourcev1.OCIRepository) {
				g := NewWithT(t)
				g.Consistently(func(g Gomega) {
					g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(o), o)).To(Succeed())
					g.Expect(o.Status.Artifact).To(BeNil())
				}, 3*time.Second, 200*time.Millisecond).Should(Succeed())
				g.Eventually(func() error {
					if err := env.Client.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
						return err
					}
					o.Spec.Suspend = false
					return env.Client.Update(ctx, o)
				}, 10*time.Second).Should(Succeed())
				waitOCIReady(g, o, "1.0.0@"+d100)
				g.Expect(conditions.IsReady(o)).To(BeTrue())
			}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := newOCIRepository(ns, "fields-"+string(rune('a'+i)), "oci://"+ref, tc.ref)
			if tc.mutate != nil {
				tc.mutate(o)
			}
			NewWithT(t).Expect(env.Client.Create(ctx, o)).To(Succeed())
			tc.check(t, o)
		})
	}
}

func ptrTo[T any](v T) *T { return &v }
