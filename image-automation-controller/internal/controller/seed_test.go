package controller

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	imagev1 "gotk.dev/pkg/apis/image/v1"
)

// seedCluster holds the guide's cluster objects; image-automation.yaml is
// written against image.toolkit.fluxcd.io/v1beta2.
var seedCluster = filepath.Join("..", "..", "..", "examples", "seed", "cluster")

// readSeed decodes a multi-document seed file by kind.
func readSeed(t *testing.T, name string) map[string]*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(seedCluster, name))
	if err != nil {
		t.Fatal(err)
	}
	objs := map[string]*unstructured.Unstructured{}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		objs[u.GetKind()] = u
	}
	return objs
}

// The guide's §3.3 flow end to end: the seed's GitRepository,
// ImageRepository, ImagePolicy and ImageUpdateAutomation (v1beta2), with
// only the registry and Git URLs pointed at the test servers. Pushing
// v1.2.4 makes the policy select it and the automation land one commit
// on main that changes only the marked line.
func TestSeedImageAutomationFlow(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	const ns = "flux-system" // the seed's markers and commit message name it
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	image := reg.Host() + "/myorg/my-app"

	// The app repository, its image name pointed at the test registry.
	app := t.TempDir()
	if err := os.CopyFS(app, os.DirFS(seedAppRepo)); err != nil {
		t.Fatal(err)
	}
	patchFile := filepath.Join(app, filepath.FromSlash(seedPatchPath))
	data, err := os.ReadFile(patchFile)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(os.WriteFile(patchFile, bytes.ReplaceAll(data, []byte("ghcr.io/myorg/my-app"), []byte(image)), 0o644)).To(Succeed())
	const gitRepo = "myorg/k8s-manifests"
	before, err := gitSrv.InitRepoFromDir(gitRepo, app, "main")
	g.Expect(err).NotTo(HaveOccurred())

	source := readSeed(t, "gitrepository-kustomization.yaml")["GitRepository"]
	images := readSeed(t, "image-automation.yaml")
	repoU, polU, autoU := images[imagev1.ImageRepositoryKind], images[imagev1.ImagePolicyKind], images[imagev1.ImageUpdateAutomationKind]
	for _, u := range []*unstructured.Unstructured{repoU, polU, autoU} {
		g.Expect(u.GetAPIVersion()).To(Equal("image.toolkit.fluxcd.io/v1beta2"))
	}
	g.Expect(unstructured.SetNestedField(source.Object, gitSrv.URL(gitRepo), "spec", "url")).To(Succeed())
	g.Expect(unstructured.SetNestedField(repoU.Object, image, "spec", "image")).To(Succeed())
	g.Expect(unstructured.SetNestedField(repoU.Object, true, "spec", "insecure")).To(Succeed())

	gitSecret, _, _ := unstructured.NestedString(source.Object, "spec", "secretRef", "name")
	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: gitSecret},
		Data: map[string][]byte{"username": []byte(gitUser), "password": []byte(gitPassword)}})).To(Succeed())
	regSecret, _, _ := unstructured.NestedString(repoU.Object, "spec", "secretRef", "name")
	dockerSecret(t, ns, regSecret, regPassword)
	pushImage(t, "myorg/my-app", "v1.2.3", "v1.0.0")

	for _, u := range []*unstructured.Unstructured{source, repoU, polU, autoU} {
		g.Expect(env.Client.Create(ctx, u)).To(Succeed())
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), u) })
	}
	key := func(u *unstructured.Unstructured) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: ns, Name: u.GetName()}
	}
	repo := readyTrue(t, &imagev1.ImageRepository{ObjectMeta: key(repoU)})
	pol := readyTrue(t, &imagev1.ImagePolicy{ObjectMeta: key(polU)})
	g.Expect(pol.Status.LatestRef.Tag).To(Equal("v1.2.3"))
	auto := readyTrue(t, &imagev1.ImageUpdateAutomation{ObjectMeta: key(autoU)})
	g.Expect(conditions.GetMessage(auto, meta.ReadyCondition)).To(Equal("repository up-to-date"))
	g.Expect(head(t, gitRepo, "main")).To(Equal(before), "v1.2.3 is already in Git: no commit")

	// The release.
	pushImage(t, "myorg/my-app", "v1.2.4")
	requestReconcile(t, repo)
	auto = eventually(t, auto, func(g Gomega, a *imagev1.ImageUpdateAutomation) {
		g.Expect(a.Status.LastPushCommit).NotTo(BeEmpty())
	})
	after := head(t, gitRepo, "main")
	g.Expect(auto.Status.LastPushCommit).To(Equal(after))
	g.Expect(gitOut(t, gitRepo, "log", "-1", "--format=%B", "main")).To(Equal("chore: update flux-system/my-app images"))
	g.Expect(gitOut(t, gitRepo, "rev-parse", "main^")).To(Equal(before))
	g.Expect(gitOut(t, gitRepo, "diff", "--numstat", before, after)).To(Equal("1\t1\t" + seedPatchPath))
	diff := gitOut(t, gitRepo, "diff", "-U0", before, after)
	g.Expect(diff).To(ContainSubstring("\n-          image: " + image + ":v1.2.3  # {\"$imagepolicy\": \"flux-system:my-app\"}\n" +
		"+          image: " + image + ":v1.2.4  # {\"$imagepolicy\": \"flux-system:my-app\"}"))

	// The policy is readable through v1beta2 with the same status.
	back := &unstructured.Unstructured{}
	back.SetAPIVersion("image.toolkit.fluxcd.io/v1beta2")
	back.SetKind(imagev1.ImagePolicyKind)
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: polU.GetName()}, back)).To(Succeed())
	tag, _, _ := unstructured.NestedString(back.Object, "status", "latestRef", "tag")
	g.Expect(tag).To(Equal("v1.2.4"))
	g.Expect(strings.Count(gitOut(t, gitRepo, "log", "--format=%H", "main"), "\n")).To(Equal(1), "one commit on top of the seed")
}
