package apis_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/pkg/testenv"
)

// TestSeedObjectsAreAccepted creates every object of the seed guide's
// cluster/ folder on the real API server, and the image objects again under
// image.toolkit.fluxcd.io/v1, since both versions are served.
func TestSeedObjectsAreAccepted(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	root, err := testenv.RepoRoot()
	g.Expect(err).NotTo(HaveOccurred())
	files, err := filepath.Glob(filepath.Join(root, "examples", "seed", "cluster", "*.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(files).NotTo(BeEmpty())

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "flux-system"}}
	if err := env.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}

	created := 0
	for _, file := range files {
		for _, obj := range readObjects(t, file) {
			t.Run(filepath.Base(file)+"/"+obj.GetKind()+"/"+obj.GetAPIVersion(), func(t *testing.T) {
				g := NewWithT(t)
				g.Expect(env.Client.Create(ctx, obj.DeepCopy())).To(Succeed())
				created++
				if strings.HasPrefix(obj.GetAPIVersion(), "image.toolkit.fluxcd.io/") {
					v1 := obj.DeepCopy()
					v1.SetAPIVersion("image.toolkit.fluxcd.io/v1")
					v1.SetName(obj.GetName() + "-v1")
					g.Expect(env.Client.Create(ctx, v1)).To(Succeed())
					// The object written as v1beta2 reads back as v1 with the same spec.
					back := &unstructured.Unstructured{}
					back.SetAPIVersion("image.toolkit.fluxcd.io/v1")
					back.SetKind(obj.GetKind())
					g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(obj), back)).To(Succeed())
					g.Expect(back.Object["spec"]).To(Equal(withDefaults(t, v1).Object["spec"]))
				}
			})
		}
	}
	g.Expect(created).To(Equal(8), "every seed object was created")
}

// withDefaults reads the v1 copy back so defaults are applied as on the original.
func withDefaults(t *testing.T, v1 *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(v1.GroupVersionKind())
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(v1), got); err != nil {
		t.Fatal(err)
	}
	return got
}

func readObjects(t *testing.T, file string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return decodeObjects(t, data)
}

func decodeObjects(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs
			}
			t.Fatalf("decoding YAML: %v", err)
		}
		if len(m) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
}
