package cmd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"gotk.dev/pkg/testenv"
)

// copySeed copies one of the seed repositories to a temporary directory.
func copySeed(t *testing.T, name string) string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(root, "examples", "seed", name)
	dst := t.TempDir()
	err = filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestBuildAndDiffKustomization(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	ksFile := filepath.Join(t.TempDir(), "ks.yaml")
	g.Expect(os.WriteFile(ksFile, []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: my-app\n  namespace: "+ns+
		"\nspec:\n  interval: 5m\n  path: ./overlays/production\n  prune: true\n  sourceRef: {kind: GitRepository, name: my-app}\n"), 0o644)).To(Succeed())

	// The seed app as printed: the controller's build error, naming the patch file.
	printed := copySeed(t, "app-repo")
	_, err := run(t, "build", "kustomization", "my-app", "--path", filepath.Join(printed, "overlays/production"), "--kustomization-file", ksFile)
	g.Expect(err).To(MatchError(ContainSubstring("hpa.yaml")))

	// The corrected app builds to the objects the guide describes.
	repo := copySeed(t, "app-repo-corrected")
	path := filepath.Join(repo, "overlays/production")
	out, err := run(t, "build", "kustomization", "my-app", "--path", path, "--kustomization-file", ksFile)
	g.Expect(err).NotTo(HaveOccurred())
	for _, want := range []string{"kind: Namespace", "kind: Deployment", "kind: Service", "kind: HorizontalPodAutoscaler", "replicas: 3", "namespace: production"} {
		g.Expect(out).To(ContainSubstring(want))
	}

	// diff: everything is new, then applied, then unchanged, then a local edit shows.
	_, err = run(t, "diff", "kustomization", "my-app", "--path", path, "--kustomization-file", ksFile)
	var exit *ExitCodeError
	g.Expect(err).To(BeAssignableToTypeOf(exit))
	g.Expect(err.(*ExitCodeError).Code).To(Equal(1))
	for _, doc := range strings.Split(out, "---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		obj := &unstructured.Unstructured{}
		g.Expect(yaml.Unmarshal([]byte(doc), &obj.Object)).To(Succeed())
		g.Expect(env.Client.Patch(ctx, obj, client.Apply, client.FieldOwner("kustomize-controller"), client.ForceOwnership)).To(Succeed())
	}
	out, err = run(t, "diff", "kustomization", "my-app", "--path", path, "--kustomization-file", ksFile)
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(BeEmpty())

	patch := filepath.Join(path, "deployment-patch.yaml")
	data, err := os.ReadFile(patch)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(os.WriteFile(patch, []byte(strings.Replace(string(data), "replicas: 3", "replicas: 5", 1)), 0o644)).To(Succeed())
	out, err = run(t, "diff", "kustomization", "my-app", "--path", path, "--kustomization-file", ksFile)
	g.Expect(err).To(HaveOccurred())
	g.Expect(out).To(ContainSubstring("► Deployment/production/my-app configured"))
	g.Expect(out).To(ContainSubstring("-  replicas: 3"))
	g.Expect(out).To(ContainSubstring("+  replicas: 5"))
}
