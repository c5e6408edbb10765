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

// generatedNames lists the ExternalArtifacts ag's inventory holds.
func generatedNames(ag *sourceextv1beta1.ArtifactGenerator) []string {
	var names []string
	for _, ref := range ag.Status.Inventory {
		names = append(names, ref.Name)
	}
	return names
}

// TestArtifactGeneratorPathPattern: spec.pathPattern makes one
// ExternalArtifact per matching directory of the monorepo, its name and
// copy paths filled from the captures (names lowercased, paths as found)
// and its labels naming them; a commit touching one directory gives only
// that artifact a new revision; a directory removed from Git takes its
// ExternalArtifact and files with it, one added gets a new one.
func TestArtifactGeneratorPathPattern(t *testing.T) {
	g := NewWithT(t)
	h := startHarness(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	_, err := srv.CommitFiles("mono", "main", map[string]string{
		"apps/auth/envs/dev/deploy.yaml":      "auth: dev\n",
		"apps/auth/envs/prod/deploy.yaml":     "auth: prod\n",
		"apps/auth/envs/prod/README.md":       "docs\n",
		"apps/Billing/envs/Prod/deploy.yaml":  "billing: prod\n",
		"apps/payments/README.md":             "no envs here\n",
		"apps/ignore/envs":                    "a file, not a directory\n",
		"clusters/prod/kustomization.yaml":    "resources: []\n",
		"apps/auth/envs/dev/nested/more.yaml": "more: true\n",
	}, "init")
	g.Expect(err).NotTo(HaveOccurred())
	repo := newGitRepository(ns, "mono", srv.URL("mono"), &sourcev1.GitRepositoryRef{Branch: "main"})
	g.Expect(env.Client.Create(ctx, repo)).To(Succeed())
	waitReady(g, repo)

	ag := &sourceextv1beta1.ArtifactGenerator{ObjectMeta: metav1.ObjectMeta{Name: "envs", Namespace: ns},
		Spec: sourceextv1beta1.ArtifactGeneratorSpec{
			CommonMetadata: &sourceextv1beta1.CommonMetadata{Labels: map[string]string{"team": "platform"}},
			Sources:        []sourceextv1beta1.SourceReference{{Alias: "repo", Kind: sourcev1.GitRepositoryKind, Name: "mono"}},
			PathPattern:    "@repo/apps/{app}/envs/{env}",
			OutputArtifacts: []sourceextv1beta1.OutputArtifact{{Name: "{app}-{env}", OriginRevision: "@repo",
				Copy: []sourceextv1beta1.CopyOperation{{From: "@repo/apps/{app}/envs/{env}/**", To: "@artifact/{app}/", Exclude: []string{"*.md"}}}}},
		}}
	g.Expect(env.Client.Create(ctx, ag)).To(Succeed())
	waitGeneratorReady(g, ag)
	g.Expect(generatedNames(ag)).To(Equal([]string{"billing-prod", "auth-dev", "auth-prod"}))
	g.Expect(conditions.GetMessage(ag, meta.ReadyCondition)).To(Equal("reconciliation succeeded, generated 3 artifact(s)"))

	authDev, authProd, billing := externalArtifact(g, ns, "auth-dev"), externalArtifact(g, ns, "auth-prod"), externalArtifact(g, ns, "billing-prod")
	g.Expect(fetchFiles(g, authDev.Status.Artifact)).To(Equal([]string{"auth/deploy.yaml", "auth/nested/more.yaml"}))
	g.Expect(fetchFiles(g, authProd.Status.Artifact)).To(Equal([]string{"auth/deploy.yaml"}))
	g.Expect(fetchFiles(g, billing.Status.Artifact)).To(Equal([]string{"Billing/deploy.yaml"}), "copy paths keep the directory's case")
	g.Expect(billing.Labels).To(And(HaveKeyWithValue("app", "billing"), HaveKeyWithValue("env", "prod"),
		HaveKeyWithValue("team", "platform"), HaveKeyWithValue(sourceextv1beta1.ArtifactGeneratorLabel, "envs")))
	g.Expect(authDev.Labels).To(And(HaveKeyWithValue("app", "auth"), HaveKeyWithValue("env", "dev")))
	g.Expect(authDev.Spec.SourceRef.Name).To(Equal("envs"))

	// A commit touching auth/dev only: that artifact alone is new.
	second, err := srv.CommitFiles("mono", "main", map[string]string{"apps/auth/envs/dev/deploy.yaml": "auth: dev2\n"}, "dev")
	g.Expect(err).NotTo(HaveOccurred())
	requestReconcile(g, repo)
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(authDev), authDev)).To(Succeed())
		g.Expect(authDev.Status.Artifact.Metadata).To(HaveKeyWithValue(sourceextv1beta1.ArtifactOriginRevisionAnnotation, "main@sha1:"+second))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	waitGeneratorReady(g, ag)
	g.Expect(fetchFile(g, authDev.Status.Artifact, "auth/deploy.yaml")).To(Equal("auth: dev2\n"))
	for _, old := range []*sourcev1.ExternalArtifact{authProd, billing} {
		now := &sourcev1.ExternalArtifact{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(old), now)).To(Succeed())
		g.Expect(now.ResourceVersion).To(Equal(old.ResourceVersion), "no write to unchanged %s", old.Name)
	}

	// Billing's directory leaves Git and a staging env arrives.
	billingDir := filepath.Join(h.storage.BasePath, "externalartifact", ns, "billing-prod")
	g.Expect(billingDir).To(BeADirectory())
	_, err = srv.DeleteFiles("mono", "main", []string{"apps/Billing/envs/Prod/deploy.yaml"}, "drop billing")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = srv.CommitFiles("mono", "main", map[string]string{"apps/auth/envs/staging/deploy.yaml": "auth: staging\n"}, "staging")
	g.Expect(err).NotTo(HaveOccurred())
	requestReconcile(g, repo)
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ag), ag)).To(Succeed())
		g.Expect(generatedNames(ag)).To(Equal([]string{"auth-dev", "auth-prod", "auth-staging"}))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Expect(apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(billing), &sourcev1.ExternalArtifact{}))).To(BeTrue())
	_, err = os.Stat(billingDir)
	g.Expect(os.IsNotExist(err)).To(BeTrue(), "billing's files are removed")
	g.Expect(fetchFiles(g, externalArtifact(g, ns, "auth-staging").Status.Artifact)).To(Equal([]string{"auth/deploy.yaml"}))

	// Deleting the generator deletes every generated ExternalArtifact.
	g.Expect(env.Client.Delete(ctx, ag)).To(Succeed())
	g.Eventually(func(g Gomega) {
		var list sourcev1.ExternalArtifactList
		g.Expect(env.Client.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
		g.Expect(list.Items).To(BeEmpty())
	}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
}

// TestArtifactGeneratorPathPatternErrors: a bad pathPattern, a
// placeholder it does not capture, and directories that make no valid or
// unique name each give Ready=False, Stalled, with reason
// ValidationFailed and a message saying what is wrong; the API server
// refuses a templated name without a pathPattern.
func TestArtifactGeneratorPathPatternErrors(t *testing.T) {
	g := NewWithT(t)
	startHarness(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	_, err := srv.CommitFiles("repo", "main", map[string]string{
		"apps/auth/envs/dev/a.yaml": "a\n",
		"odd/My App/a.yaml":         "a\n",
		"cased/Auth/a.yaml":         "a\n",
		"cased/auth/a.yaml":         "a\n",
	}, "init")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(env.Client.Create(ctx, newGitRepository(ns, "repo", srv.URL("repo"), &sourcev1.GitRepositoryRef{Branch: "main"}))).To(Succeed())

	cases := []struct {
		name, pattern, artifact, from, message string
	}{
		{name: "unclosed", pattern: "@repo/apps/{app", artifact: "{app}", from: "@repo/apps/**",
			message: "pathPattern '@repo/apps/{app': '{' without a closing '}'"},
		{name: "unknown-alias", pattern: "@git/apps/{app}", artifact: "{app}", from: "@repo/apps/{app}/**",
			message: "pathPattern '@git/apps/{app}': unknown source alias 'git'"},
		{name: "twice", pattern: "@repo/apps/{app}/envs/{app}", artifact: "{app}", from: "@repo/apps/**",
			message: "pathPattern '@repo/apps/{app}/envs/{app}': capture '{app}' appears twice"},
		{name: "undefined-placeholder", pattern: "@repo/apps/{app}", artifact: "{app}-{env}", from: "@repo/apps/{app}/**",
			message: "artifact '{app}-{env}' name: placeholder '{env}' is not a capture of the pathPattern"},
		{name: "label-value", pattern: "@repo/odd/{app}", artifact: "{app}", from: "@repo/odd/{app}/**",
			message: "pathPattern '@repo/odd/{app}': directory 'odd/My App' captures app='my app', not a valid label value"},
		{name: "clash", pattern: "@repo/cased/{app}", artifact: "x-{app}", from: "@repo/cased/{app}/**",
			message: "pathPattern '@repo/cased/{app}': directories 'cased/Auth' and 'cased/auth' both give artifact name 'x-auth'"},
	}
	for _, tc := range cases {
		ag := &sourceextv1beta1.ArtifactGenerator{ObjectMeta: metav1.ObjectMeta{Name: tc.name, Namespace: ns},
			Spec: sourceextv1beta1.ArtifactGeneratorSpec{
				Sources:     []sourceextv1beta1.SourceReference{{Alias: "repo", Kind: sourcev1.GitRepositoryKind, Name: "repo"}},
				PathPattern: tc.pattern,
				OutputArtifacts: []sourceextv1beta1.OutputArtifact{{Name: tc.artifact,
					Copy: []sourceextv1beta1.CopyOperation{{From: tc.from, To: "@artifact/"}}}}}}
		g.Expect(env.Client.Create(ctx, ag)).To(Succeed(), tc.name)
		g.Eventually(func(g Gomega) {
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ag), ag)).To(Succeed())
			g.Expect(conditions.IsFalse(ag, meta.ReadyCondition)).To(BeTrue(), "%v", ag.Status.Conditions)
			g.Expect(conditions.GetReason(ag, meta.ReadyCondition)).To(Equal(sourceextv1beta1.ValidationFailedReason))
			g.Expect(conditions.GetMessage(ag, meta.ReadyCondition)).To(HavePrefix(tc.message))
			g.Expect(conditions.IsTrue(ag, meta.StalledCondition)).To(BeTrue())
		}, 60*time.Second, 100*time.Millisecond).Should(Succeed(), tc.name)
		g.Expect(ag.Status.Inventory).To(BeEmpty(), tc.name)
	}

	// A pattern matching one of the two directories only recovers.
	ag := &sourceextv1beta1.ArtifactGenerator{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "clash"}, ag)).To(Succeed())
	ag.Spec.PathPattern = "@repo/cased/A{app}"
	ag.Spec.OutputArtifacts[0].Copy[0].From = "@repo/cased/A{app}/**"
	g.Expect(env.Client.Update(ctx, ag)).To(Succeed())
	waitGeneratorReady(g, ag)
	g.Expect(generatedNames(ag)).To(Equal([]string{"x-uth"}))
	g.Expect(externalArtifact(g, ns, "x-uth").Labels).To(HaveKeyWithValue("app", "uth"))

	// Without a pathPattern an artifact name is an object name as written.
	plain := &sourceextv1beta1.ArtifactGenerator{ObjectMeta: metav1.ObjectMeta{Name: "plain", Namespace: ns},
		Spec: sourceextv1beta1.ArtifactGeneratorSpec{
			Sources: []sourceextv1beta1.SourceReference{{Alias: "repo", Kind: sourcev1.GitRepositoryKind, Name: "repo"}},
			OutputArtifacts: []sourceextv1beta1.OutputArtifact{{Name: "{app}",
				Copy: []sourceextv1beta1.CopyOperation{{From: "@repo/apps/**", To: "@artifact/"}}}}}}
	err = env.Client.Create(ctx, plain)
	g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
	g.Expect(err.Error()).To(ContainSubstring("artifact names must be valid Kubernetes object names when pathPattern is not set"))
}
