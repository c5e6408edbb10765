package controller

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	sourceextv1beta1 "gotk.dev/pkg/apis/sourceextensions/v1beta1"
	"gotk.dev/pkg/testserver"
)

// tarballOf returns a gzip tarball holding files (path → content).
func tarballOf(g Gomega, files map[string]string) string {
	data, err := testserver.Tarball(files)
	g.Expect(err).NotTo(HaveOccurred())
	return string(data)
}

// TestArtifactGeneratorExtractAlternatives: an Extract copy's from takes
// '{a,b}' alternatives and passes over matches that are not tarballs, and
// a single-file copy whose source an exclude names is skipped without
// failing the generator, as in Flux.
func TestArtifactGeneratorExtractAlternatives(t *testing.T) {
	g := NewWithT(t)
	startHarness(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	_, err := srv.CommitFiles("bundles", "main", map[string]string{
		"charts/app.tgz":   tarballOf(g, map[string]string{"crds/app.yaml": "kind: CustomResourceDefinition\n"}),
		"charts/README.md": "docs\n",
		"extra/db/db.tgz":  tarballOf(g, map[string]string{"crds/db.yaml": "kind: CustomResourceDefinition\n"}),
		"other/skip.tgz":   tarballOf(g, map[string]string{"crds/skip.yaml": "kind: CustomResourceDefinition\n"}),
		"values/prod.yaml": "replicas: 3\n",
		"values/base.yaml": "replicas: 1\n",
	}, "bundles")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(env.Client.Create(ctx, newGitRepository(ns, "bundles", srv.URL("bundles"), &sourcev1.GitRepositoryRef{Branch: "main"}))).To(Succeed())

	ag := &sourceextv1beta1.ArtifactGenerator{ObjectMeta: metav1.ObjectMeta{Name: "crds", Namespace: ns},
		Spec: sourceextv1beta1.ArtifactGeneratorSpec{
			Sources: []sourceextv1beta1.SourceReference{{Alias: "repo", Kind: sourcev1.GitRepositoryKind, Name: "bundles"}},
			OutputArtifacts: []sourceextv1beta1.OutputArtifact{{Name: "crds", Copy: []sourceextv1beta1.CopyOperation{
				{From: "@repo/{charts,extra}/**", To: "@artifact/", Strategy: sourceextv1beta1.ExtractStrategy},
				{From: "@repo/values/base.yaml", To: "@artifact/values.yaml"},
				{From: "@repo/values/prod.yaml", To: "@artifact/values.yaml", Exclude: []string{"prod.yaml"}},
			}}}}}
	g.Expect(env.Client.Create(ctx, ag)).To(Succeed())
	waitGeneratorReady(g, ag)
	art := externalArtifact(g, ns, "crds").Status.Artifact
	g.Expect(fetchFiles(g, art)).To(Equal([]string{"crds/app.yaml", "crds/db.yaml", "values.yaml"}))
	g.Expect(fetchFile(g, art, "values.yaml")).To(Equal("replicas: 1\n"))
}
