package cmd

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
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
				"kind: NetworkPolicy", "image: ghcr.io/gotk/source-controller:v0.1.0", "--watch-all-namespaces=true"},
			notWant: []string{"--no-cross-namespace-refs", "--default-service-account"}},
		{name: "without image automation", args: []string{"--components", "source-controller,kustomize-controller,helm-controller,notification-controller"},
			want:    []string{"name: kustomize-controller"},
			notWant: []string{"name: imagepolicies.image.toolkit.fluxcd.io", "image: ghcr.io/gotk/image-automation-controller"}},
		{name: "registry, tag, namespace-scoped, no policies",
			args:    []string{"--registry", "registry.example.com/platform", "--image-tag", "v9.9.9", "--watch-all-namespaces=false", "--network-policy=false"},
			want:    []string{"image: registry.example.com/platform/source-controller:v9.9.9", "--watch-all-namespaces=false"},
			notWant: []string{"kind: NetworkPolicy", "image: ghcr.io"}},

		{name: "flux's --version sets the tag of every image", args: []string{"--version", "0.2.0"},
			want:    []string{"image: ghcr.io/gotk/source-controller:v0.2.0", "image: ghcr.io/gotk/notification-controller:v0.2.0"},
			notWant: []string{":v0.1.0"}},
		{name: "--version with a registry that has a port", args: []string{"--version", "v0.3.0-rc.1", "--registry", "localhost:5001/gotk/"},
			want: []string{"image: localhost:5001/gotk/helm-controller:v0.3.0-rc.1"}},
		{name: "--version and --image-tag that agree", args: []string{"--version", "1.0.0", "--image-tag", "v1.0.0"},
			want: []string{"image: ghcr.io/gotk/kustomize-controller:v1.0.0"}},
		{name: "flux's --components-extra names", args: []string{"--components", "source-controller,kustomize-controller",
			"--components-extra", "image-reflector-controller,image-automation-controller"},
			want:    []string{"# Components: source-controller,kustomize-controller,image-automation-controller", "name: imagepolicies.image.toolkit.fluxcd.io"},
			notWant: []string{"image: ghcr.io/gotk/helm-controller", "image: ghcr.io/gotk/notification-controller"}},
		{name: "image-reflector-controller alone means image automation too", args: []string{"--components", "source-controller",
			"--components-extra", "image-reflector-controller"},
			want: []string{"# Components: source-controller,image-automation-controller", "image: ghcr.io/gotk/image-automation-controller:"}},
		{name: "multi-tenant lockdown", args: []string{"--multi-tenant"},
			want: []string{"--no-cross-namespace-refs=true", "--default-service-account=default"}},
		{name: "source-watcher is served by source-controller", args: []string{"--components", "source-controller", "--components-extra", "source-watcher"},
			want:    []string{"# Components: source-controller\n", "name: source-controller"},
			notWant: []string{"image: ghcr.io/gotk/kustomize-controller"}},
		{name: "shards", args: []string{"--shards", "shard1,shard2"},
			want: []string{"# Shards: shard1,shard2", "name: helm-controller-shard2", "--watch-label-selector=!sharding.fluxcd.io/key",
				"--storage-adv-addr=source-controller-shard1.$(RUNTIME_NAMESPACE).svc.cluster.local."},
			notWant: []string{"name: notification-controller-shard1"}},
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
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--components", "kustomize-controller"}, "must include source-controller"},
		{[]string{"--version", "v1.0.0", "--image-tag", "v2.0.0"}, "--version v1.0.0 and --image-tag v2.0.0 disagree: set one of them"},
		{[]string{"--version", "v1/x"}, `image tag "v1/x" is not a valid tag`},
		{[]string{"--image-tag", "-x"}, `image tag "-x" is not a valid tag`},
		{[]string{"--components-extra", "image-reflector"}, `--components-extra: unknown component "image-reflector" (known: source-controller,`},
		{[]string{"--components", "source-controller,helm"}, `--components: unknown component "helm"`},
		{[]string{"--shards", "shard1,-x"}, `--shards: "-x" is not a valid shard name`},
	} {
		_, err := run(t, append([]string{"install", "--export"}, bad.args...)...)
		NewWithT(t).Expect(err).To(MatchError(ContainSubstring(bad.want)), "%v", bad.args)
	}
	// bootstrap shares the flags: the same errors, before any clone or cluster call.
	_, err := run(t, "bootstrap", "git", "--url", "https://git.example.invalid/fleet", "--path", "clusters/dev", "--version", "1.0.0", "--image-tag", "v2")
	NewWithT(t).Expect(err).To(MatchError(ContainSubstring("--version 1.0.0 and --image-tag v2 disagree")))
	_, err = run(t, "bootstrap", "git", "--url", "https://git.example.invalid/fleet", "--path", "clusters/dev", "--components-extra", "nope")
	NewWithT(t).Expect(err).To(MatchError(ContainSubstring(`--components-extra: unknown component "nope"`)))
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
	// --components checks only the named controllers (Flux's names accepted).
	out, err = run(t, "check", "--components", "source-controller,kustomize-controller")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("✔ kustomize-controller: deployment ready"))
	g.Expect(out).NotTo(ContainSubstring("helm-controller"))
	g.Expect(out).NotTo(ContainSubstring("image.toolkit.fluxcd.io"))
	// version asks the cluster for the controllers' versions; --client does not.
	out, err = run(t, "version")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(MatchRegexp(`(?m)^gotk: \S+\nsource-controller: \S+\n`))
	g.Expect(out).To(ContainSubstring("notification-controller: "))
	out, err = run(t, "version", "--client", "--kubeconfig", "/nonexistent")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(MatchRegexp(`^gotk: \S+\n$`))

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

	// --dry-run: the API server checks every delete and patch, none is made.
	out, err = run(t, "uninstall", "--keep-namespace", "--dry-run")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("dry run: nothing is changed"))
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Name: "gitrepositories.source.toolkit.fluxcd.io"}, &apiextensionsv1.CustomResourceDefinition{})).To(Succeed())
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(repo), repo)).To(Succeed())
	g.Expect(repo.Finalizers).To(ConsistOf(reconcile.Finalizer))
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: "flux-system", Name: "source-controller"}, &appsv1.Deployment{})).To(Succeed())

	// --silent: no question, as without a terminal.
	out, err = run(t, "uninstall", "--keep-namespace", "--silent")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).NotTo(ContainSubstring("Are you sure"))
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
