package controller

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	sourceextv1beta1 "gotk.dev/pkg/apis/sourceextensions/v1beta1"
	"gotk.dev/pkg/testserver"
)

// waitGeneratorReady waits until ag is Ready for its generation.
func waitGeneratorReady(g Gomega, ag *sourceextv1beta1.ArtifactGenerator) {
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(ag), ag)).To(Succeed())
		g.Expect(ag.Status.ObservedGeneration).To(Equal(ag.Generation), "%v", ag.Status.Conditions)
		g.Expect(conditions.IsReady(ag)).To(BeTrue(), conditions.GetMessage(ag, meta.ReadyCondition))
	}, 60*time.Second, 100*time.Millisecond).Should(Succeed())
}

// externalArtifact returns the named ExternalArtifact once it has an artifact.
func externalArtifact(g Gomega, ns, name string) *sourcev1.ExternalArtifact {
	ea := &sourcev1.ExternalArtifact{}
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, ea)).To(Succeed())
		g.Expect(ea.Status.Artifact).NotTo(BeNil())
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	return ea
}

// TestArtifactGeneratorMonorepo splits a monorepo laid out like Flux's
// example fleet into `infrastructure` and `apps`: each output is an
// ExternalArtifact with its own digest and the Git commit as origin
// revision; a commit touching only apps/ gives apps a new artifact and
// leaves infrastructure's as it was; a dropped output and the generator's
// deletion remove their ExternalArtifacts and files.
func TestArtifactGeneratorMonorepo(t *testing.T) {
	g := NewWithT(t)
	h := startHarness(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	first, err := srv.CommitFiles("fleet", "main", map[string]string{
		"apps/base/podinfo/release.yaml":              "kind: HelmRelease\n",
		"apps/base/podinfo/README.md":                 "docs\n",
		"apps/production/kustomization.yaml":          "resources: [../base/podinfo]\n",
		"infrastructure/controllers/ingress.yaml":     "kind: HelmRelease\n",
		"infrastructure/configs/cluster-issuers.yaml": "kind: ClusterIssuer\n",
		"clusters/production/apps.yaml":               "kind: Kustomization\n",
	}, "fleet")
	g.Expect(err).NotTo(HaveOccurred())
	repo := newGitRepository(ns, "fleet", srv.URL("fleet"), &sourcev1.GitRepositoryRef{Branch: "main"})
	g.Expect(env.Client.Create(ctx, repo)).To(Succeed())
	waitReady(g, repo)

	ag := &sourceextv1beta1.ArtifactGenerator{ObjectMeta: metav1.ObjectMeta{Name: "fleet", Namespace: ns},
		Spec: sourceextv1beta1.ArtifactGeneratorSpec{
			CommonMetadata: &sourceextv1beta1.CommonMetadata{Labels: map[string]string{"team": "platform"}},
			Sources:        []sourceextv1beta1.SourceReference{{Alias: "repo", Kind: sourcev1.GitRepositoryKind, Name: "fleet"}},
			OutputArtifacts: []sourceextv1beta1.OutputArtifact{
				{Name: "infrastructure", OriginRevision: "@repo", Copy: []sourceextv1beta1.CopyOperation{{From: "@repo/infrastructure/**", To: "@artifact/"}}},
				{Name: "apps", OriginRevision: "@repo", Copy: []sourceextv1beta1.CopyOperation{{From: "@repo/apps/**", To: "@artifact/", Exclude: []string{"*.md"}}}},
			}}}
	g.Expect(env.Client.Create(ctx, ag)).To(Succeed())
	waitGeneratorReady(g, ag)
	g.Expect(ag.Status.Inventory).To(HaveLen(2))
	g.Expect(ag.Status.ObservedSourcesDigest).To(HavePrefix("sha256:"))

	infra, apps := externalArtifact(g, ns, "infrastructure"), externalArtifact(g, ns, "apps")
	g.Expect(fetchFiles(g, infra.Status.Artifact)).To(Equal([]string{"configs/cluster-issuers.yaml", "controllers/ingress.yaml"}))
	g.Expect(fetchFiles(g, apps.Status.Artifact)).To(Equal([]string{"base/podinfo/release.yaml", "production/kustomization.yaml"}))
	for _, ea := range []*sourcev1.ExternalArtifact{infra, apps} {
		art := ea.Status.Artifact
		g.Expect(art.Revision).To(MatchRegexp(`^latest@sha256:[0-9a-f]{64}$`))
		g.Expect(art.Digest).To(HavePrefix("sha256:"))
		g.Expect(art.URL).To(HavePrefix(h.server.URL + "/externalartifact/" + ns + "/" + ea.Name + "/"))
		g.Expect(art.Metadata).To(HaveKeyWithValue(sourceextv1beta1.ArtifactOriginRevisionAnnotation, "main@sha1:"+first))
		g.Expect(conditions.IsReady(ea)).To(BeTrue())
		g.Expect(ea.Labels).To(HaveKeyWithValue("team", "platform"))
		g.Expect(ea.Spec.SourceRef).To(Equal(&meta.NamespacedObjectKindReference{APIVersion: "source.extensions.fluxcd.io/v1beta1",
			Kind: "ArtifactGenerator", Name: "fleet", Namespace: ns}))
	}
	g.Expect(infra.Status.Artifact.Digest).NotTo(Equal(apps.Status.Artifact.Digest))

	// A commit touching apps/ only: apps gets a new artifact, infrastructure keeps its own.
	second, err := srv.CommitFiles("fleet", "main", map[string]string{"apps/base/podinfo/release.yaml": "kind: HelmRelease\nspec: {}\n"}, "apps")
	g.Expect(err).NotTo(HaveOccurred())
	requestReconcile(g, repo)
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(apps), apps)).To(Succeed())
		g.Expect(apps.Status.Artifact.Metadata).To(HaveKeyWithValue(sourceextv1beta1.ArtifactOriginRevisionAnnotation, "main@sha1:"+second))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	waitGeneratorReady(g, ag)
	g.Expect(fetchFile(g, apps.Status.Artifact, "base/podinfo/release.yaml")).To(Equal("kind: HelmRelease\nspec: {}\n"))
	unchanged := &sourcev1.ExternalArtifact{}
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(infra), unchanged)).To(Succeed())
	g.Expect(unchanged.Status.Artifact).To(Equal(infra.Status.Artifact), "infrastructure's files did not change")
	g.Expect(unchanged.ResourceVersion).To(Equal(infra.ResourceVersion), "no write at all to an unchanged output")

	// A commit outside both outputs changes neither.
	_, err = srv.CommitFiles("fleet", "main", map[string]string{"clusters/production/apps.yaml": "kind: Kustomization\nspec: {}\n"}, "clusters")
	g.Expect(err).NotTo(HaveOccurred())
	before := apps.Status.Artifact.DeepCopy()
	requestReconcile(g, repo)
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ag), ag)).To(Succeed())
		g.Expect(conditions.IsReady(ag)).To(BeTrue())
		g.Expect(ag.Status.ObservedSourcesDigest).NotTo(Equal(""))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(apps), apps)).To(Succeed())
		g.Expect(apps.Status.Artifact).To(Equal(before))
	}, 2*time.Second, 200*time.Millisecond).Should(Succeed())

	// Dropping an output deletes its ExternalArtifact and files.
	appsDir := filepath.Join(h.storage.BasePath, "externalartifact", ns, "apps")
	g.Expect(appsDir).To(BeADirectory())
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ag), ag)).To(Succeed())
	ag.Spec.OutputArtifacts = ag.Spec.OutputArtifacts[:1]
	g.Expect(env.Client.Update(ctx, ag)).To(Succeed())
	waitGeneratorReady(g, ag)
	g.Expect(ag.Status.Inventory).To(HaveLen(1))
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(apps), &sourcev1.ExternalArtifact{}))
	}, 10*time.Second, 100*time.Millisecond).Should(BeTrue())
	_, err = os.Stat(appsDir)
	g.Expect(os.IsNotExist(err)).To(BeTrue())

	// Deleting the generator deletes what it generated.
	g.Expect(env.Client.Delete(ctx, ag)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(infra), &sourcev1.ExternalArtifact{}))
	}, 10*time.Second, 100*time.Millisecond).Should(BeTrue())
}

// TestArtifactGeneratorComposes builds one artifact from a GitRepository
// and an ExternalArtifact (another generator's output), with the revision
// taken from a source, Merge of values files and a chained rebuild when
// the upstream output changes.
func TestArtifactGeneratorComposes(t *testing.T) {
	g := NewWithT(t)
	startHarness(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	_, err := srv.CommitFiles("chart", "main", map[string]string{
		"charts/app/Chart.yaml":  "name: app\nversion: 1.0.0\n",
		"charts/app/values.yaml": "image:\n  tag: v1\n  repository: app\n",
		"env/prod-values.yaml":   "image:\n  tag: v2\n",
	}, "chart")
	g.Expect(err).NotTo(HaveOccurred())
	repo := newGitRepository(ns, "chart", srv.URL("chart"), &sourcev1.GitRepositoryRef{Branch: "main"})
	g.Expect(env.Client.Create(ctx, repo)).To(Succeed())
	repo = waitReady(g, repo)

	upstream := &sourceextv1beta1.ArtifactGenerator{ObjectMeta: metav1.ObjectMeta{Name: "upstream", Namespace: ns},
		Spec: sourceextv1beta1.ArtifactGeneratorSpec{
			Sources: []sourceextv1beta1.SourceReference{{Alias: "git", Kind: sourcev1.GitRepositoryKind, Name: "chart"}},
			OutputArtifacts: []sourceextv1beta1.OutputArtifact{{Name: "prod-values", Revision: "@git",
				Copy: []sourceextv1beta1.CopyOperation{{From: "@git/env/prod-values.yaml", To: "@artifact/values.yaml"}}}}}}
	g.Expect(env.Client.Create(ctx, upstream)).To(Succeed())
	waitGeneratorReady(g, upstream)
	ea := externalArtifact(g, ns, "prod-values")
	g.Expect(ea.Status.Artifact.Revision).To(Equal(repo.Status.Artifact.Revision), "revision: @git")

	composed := &sourceextv1beta1.ArtifactGenerator{ObjectMeta: metav1.ObjectMeta{Name: "composed", Namespace: ns},
		Spec: sourceextv1beta1.ArtifactGeneratorSpec{
			Sources: []sourceextv1beta1.SourceReference{
				{Alias: "git", Kind: sourcev1.GitRepositoryKind, Name: "chart"},
				{Alias: "values", Kind: sourcev1.ExternalArtifactKind, Name: "prod-values"},
			},
			OutputArtifacts: []sourceextv1beta1.OutputArtifact{{Name: "app-prod", Copy: []sourceextv1beta1.CopyOperation{
				{From: "@git/charts/app/**", To: "@artifact/"},
				{From: "@values/values.yaml", To: "@artifact/values.yaml", Strategy: sourceextv1beta1.MergeStrategy},
			}}}}}
	g.Expect(env.Client.Create(ctx, composed)).To(Succeed())
	waitGeneratorReady(g, composed)
	out := externalArtifact(g, ns, "app-prod")
	g.Expect(fetchFile(g, out.Status.Artifact, "values.yaml")).To(Equal("image:\n  repository: app\n  tag: v2\n"))
	g.Expect(fetchFile(g, out.Status.Artifact, "Chart.yaml")).To(Equal("name: app\nversion: 1.0.0\n"))

	// New prod values upstream: the chained output follows.
	_, err = srv.CommitFiles("chart", "main", map[string]string{"env/prod-values.yaml": "image:\n  tag: v3\n"}, "v3")
	g.Expect(err).NotTo(HaveOccurred())
	requestReconcile(g, repo)
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(out), out)).To(Succeed())
		g.Expect(fetchFile(g, out.Status.Artifact, "values.yaml")).To(Equal("image:\n  repository: app\n  tag: v3\n"))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
}

// TestArtifactGeneratorErrors: each kind of bad input gives Ready=False
// with a precise reason and message, and a fixed spec recovers.
func TestArtifactGeneratorErrors(t *testing.T) {
	g := NewWithT(t)
	startHarness(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	_, err := srv.CommitFiles("repo", "main", map[string]string{"deploy/app.yaml": "kind: ConfigMap\n"}, "init")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(env.Client.Create(ctx, newGitRepository(ns, "repo", srv.URL("repo"), &sourcev1.GitRepositoryRef{Branch: "main"}))).To(Succeed())
	broken := newGitRepository(ns, "broken", srv.URL("missing"), &sourcev1.GitRepositoryRef{Branch: "main"})
	g.Expect(env.Client.Create(ctx, broken)).To(Succeed())

	copyOp := func(from, to string) []sourceextv1beta1.CopyOperation {
		return []sourceextv1beta1.CopyOperation{{From: from, To: to}}
	}
	cases := []struct {
		name    string
		sources []sourceextv1beta1.SourceReference
		copy    []sourceextv1beta1.CopyOperation
		reason  string
		stalled bool
		message string
	}{
		{name: "unknown-alias", copy: copyOp("@nope/deploy/**", "@artifact/"), reason: sourceextv1beta1.ValidationFailedReason, stalled: true,
			message: "artifact 'out' copy[0] from '@nope/deploy/**': unknown source alias 'nope'"},
		{name: "source-not-found", sources: []sourceextv1beta1.SourceReference{{Alias: "repo", Kind: sourcev1.GitRepositoryKind, Name: "absent"}},
			copy: copyOp("@repo/deploy/**", "@artifact/"), reason: sourceextv1beta1.SourceFetchFailedReason,
			message: "source '@repo': GitRepository '" + ns + "/absent' not found"},
		{name: "source-not-ready", sources: []sourceextv1beta1.SourceReference{{Alias: "repo", Kind: sourcev1.GitRepositoryKind, Name: "broken"}},
			copy: copyOp("@repo/deploy/**", "@artifact/"), reason: sourceextv1beta1.SourceFetchFailedReason,
			message: "source '@repo': GitRepository '" + ns + "/broken' is "},
		{name: "glob-matches-nothing", copy: copyOp("@repo/charts/**", "@artifact/"), reason: sourceextv1beta1.BuildFailedReason, stalled: true,
			message: "artifact 'out' copy[0]: copy from '@repo/charts/**': the pattern matches no file"},
		{name: "path-escape", copy: copyOp("@repo/deploy/app.yaml", "@artifact/../../etc/app.yaml"), reason: sourceextv1beta1.ValidationFailedReason, stalled: true,
			message: "artifact 'out' copy[0]: copy to '@artifact/../../etc/app.yaml': "},
	}
	for _, tc := range cases {
		sources := tc.sources
		if sources == nil {
			sources = []sourceextv1beta1.SourceReference{{Alias: "repo", Kind: sourcev1.GitRepositoryKind, Name: "repo"}}
		}
		ag := &sourceextv1beta1.ArtifactGenerator{ObjectMeta: metav1.ObjectMeta{Name: tc.name, Namespace: ns},
			Spec: sourceextv1beta1.ArtifactGeneratorSpec{Sources: sources,
				OutputArtifacts: []sourceextv1beta1.OutputArtifact{{Name: "out", Copy: tc.copy}}}}
		g.Expect(env.Client.Create(ctx, ag)).To(Succeed(), tc.name)
		g.Eventually(func(g Gomega) {
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ag), ag)).To(Succeed())
			g.Expect(conditions.IsFalse(ag, meta.ReadyCondition)).To(BeTrue(), "%v", ag.Status.Conditions)
			g.Expect(conditions.GetReason(ag, meta.ReadyCondition)).To(Equal(tc.reason))
			g.Expect(conditions.GetMessage(ag, meta.ReadyCondition)).To(ContainSubstring(tc.message))
			g.Expect(conditions.IsTrue(ag, meta.StalledCondition)).To(Equal(tc.stalled))
		}, 60*time.Second, 100*time.Millisecond).Should(Succeed(), tc.name)
		g.Expect(ag.Status.Inventory).To(BeEmpty(), tc.name)
	}

	// The glob fixed: the generator recovers.
	ag := &sourceextv1beta1.ArtifactGenerator{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "glob-matches-nothing"}, ag)).To(Succeed())
	ag.Spec.OutputArtifacts[0].Copy[0].From = "@repo/deploy/**"
	g.Expect(env.Client.Update(ctx, ag)).To(Succeed())
	waitGeneratorReady(g, ag)
	g.Expect(fetchFiles(g, externalArtifact(g, ns, "out").Status.Artifact)).To(Equal([]string{"app.yaml"}))
}
