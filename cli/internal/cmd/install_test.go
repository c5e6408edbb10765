package cmd

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/install"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testenv"
)

// TestEmbeddedComponentsAreCurrent fails when manifests/ changed without `make manifests`.
func TestEmbeddedComponentsAreCurrent(t *testing.T) {
	g := NewWithT(t)
	root, err := testenv.RepoRoot()
	g.Expect(err).NotTo(HaveOccurred())
	fresh, err := install.Build(filepath.Join(root, "manifests"))
	g.Expect(err).NotTo(HaveOccurred())
	onDisk, err := readFile(filepath.Join(root, "cli", "internal", "install", "gotk-components.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(onDisk)).To(Equal(string(fresh)), "run `make manifests`")
}

func TestInstallExport(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    []string
		notWant []string
	}{
		{name: "defaults", args: nil,
			want: []string{"# gotk version: v0.1.0", "name: gitrepositories.source.toolkit.fluxcd.io", "name: image-automation-controller",
				"kind: NetworkPolicy", "image: ghcr.io/gotk/source-controller:v0.1.0", "--watch-all-namespaces=true"}},
		{name: "without image automation", args: []string{"--components", "source-controller,kustomize-controller,helm-controller,notification-controller"},
			want:    []string{"name: kustomize-controller"},
			notWant: []string{"name: imagepolicies.image.toolkit.fluxcd.io", "image: ghcr.io/gotk/image-automation-controller"}},
		{name: "registry, tag, namespace-scoped, no policies",
			args:    []string{"--registry", "registry.example.com/platform", "--image-tag", "v9.9.9", "--watch-all-namespaces=false", "--network-policy=false"},
			want:    []string{"image: registry.example.com/platform/source-controller:v9.9.9", "--watch-all-namespaces=false"},
			notWant: []string{"kind: NetworkPolicy", "image: ghcr.io"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			out, err := run(t, append([]string{"install", "--export"}, tt.args...)...)
			g.Expect(err).NotTo(HaveOccurred())
			for _, w := range tt.want {
				g.Expect(out).To(ContainSubstring(w))
			}
			for _, w := range tt.notWant {
				g.Expect(out).NotTo(ContainSubstring(w))
			}
		})
	}
	_, err := run(t, "install", "--export", "--components", "kustomize-controller")
	NewWithT(t).Expect(err).To(MatchError(ContainSubstring("must include source-controller")))
}

// TestInstallCheckUninstall installs on the local control plane, checks it,
// then uninstalls and proves objects gotk applied are left alone.
func TestInstallCheckUninstall(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()

	out, err := run(t, "check", "--pre")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("Kubernetes v1.37.2"))

	out, err = run(t, "install")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("✔ image-automation-controller: deployment ready"))
	out, err = run(t, "check")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("all checks passed"))

	// A source with a finalizer, and a workload as a Kustomization would have applied it.
	repo := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "flux-system", Finalizers: []string{reconcile.Finalizer}},
		Spec:       sourcev1.GitRepositorySpec{URL: "https://example.com/app", Interval: metav1.Duration{}},
	}
	repo.Spec.Interval.Duration = 60e9
	g.Expect(env.Client.Create(ctx, repo)).To(Succeed())
	ns := env.NewNamespace(t)
	workload := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "applied", Namespace: ns,
		Labels: map[string]string{"kustomize.toolkit.fluxcd.io/name": "app"}}}
	g.Expect(env.Client.Create(ctx, workload)).To(Succeed())

	out, err = run(t, "uninstall", "--keep-namespace")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(MatchRegexp(`finalizers removed from [1-9]\d* objects`))
	g.Eventually(func() bool {
		err := env.Client.Get(ctx, client.ObjectKey{Name: "gitrepositories.source.toolkit.fluxcd.io"}, &apiextensionsv1.CustomResourceDefinition{})
		return apierrors.IsNotFound(err)
	}, "30s", "200ms").Should(BeTrue())
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(workload), workload)).To(Succeed(), "applied objects stay")
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Name: "flux-system"}, &corev1.Namespace{})).To(Succeed(), "--keep-namespace")

	// Put the CRDs back for the other tests of this package.
	out, err = run(t, "install", "--network-policy=false")
	g.Expect(err).NotTo(HaveOccurred(), out)
}

func TestUnreachableClusterIsOneClearLine(t *testing.T) {
	g := NewWithT(t)
	var out bytes.Buffer
	root := NewRoot(&out)
	root.SetArgs([]string{"--kubeconfig", filepath.Join(t.TempDir(), "missing"), "get", "ks"})
	err := root.Execute()
	g.Expect(err).To(HaveOccurred())
	g.Expect(strings.Count(err.Error(), "\n")).To(BeZero())
}
