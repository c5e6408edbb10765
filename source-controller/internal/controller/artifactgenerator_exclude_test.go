package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	sourceextv1beta1 "gotk.dev/pkg/apis/sourceextensions/v1beta1"
	"gotk.dev/pkg/testserver"
)

// TestArtifactGeneratorExcludeAlternatives: exclude patterns take '{a,b}'
// alternatives and match paths from the source root as well as under the
// from prefix, as Flux's do; and a from or exclude pattern whose '{}'
// groups hold more than 20 commas is refused (ValidationFailed, stalled)
// as Flux refuses it.
func TestArtifactGeneratorExcludeAlternatives(t *testing.T) {
	g := NewWithT(t)
	startHarness(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	_, err := srv.CommitFiles("app", "main", map[string]string{
		"deploy/app.yaml":          "kind: Deployment\n",
		"deploy/README.md":         "docs\n",
		"deploy/NOTES.txt":         "notes\n",
		"deploy/tests/case.yaml":   "kind: Pod\n",
		"deploy/docs/usage.yaml":   "kind: ConfigMap\n",
		"deploy/base/svc.yaml":     "kind: Service\n",
		"deploy/overlays/dev.yaml": "kind: Kustomization\n",
	}, "app")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(env.Client.Create(ctx, newGitRepository(ns, "app", srv.URL("app"), &sourcev1.GitRepositoryRef{Branch: "main"}))).To(Succeed())

	generator := func(name string, op sourceextv1beta1.CopyOperation) *sourceextv1beta1.ArtifactGenerator {
		return &sourceextv1beta1.ArtifactGenerator{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: sourceextv1beta1.ArtifactGeneratorSpec{
				Sources:         []sourceextv1beta1.SourceReference{{Alias: "repo", Kind: sourcev1.GitRepositoryKind, Name: "app"}},
				OutputArtifacts: []sourceextv1beta1.OutputArtifact{{Name: name, Copy: []sourceextv1beta1.CopyOperation{op}}}}}
	}

	ag := generator("deploy", sourceextv1beta1.CopyOperation{From: "@repo/deploy/**", To: "@artifact/",
		Exclude: []string{"*.{md,txt}", "{tests,docs}/**", "deploy/overlays/**"}})
	g.Expect(env.Client.Create(ctx, ag)).To(Succeed())
	waitGeneratorReady(g, ag)
	g.Expect(fetchFiles(g, externalArtifact(g, ns, "deploy").Status.Artifact)).To(Equal([]string{"app.yaml", "base/svc.yaml"}))

	many := "{" + strings.Repeat("x,", 21) + "x}"
	cases := []struct {
		name    string
		op      sourceextv1beta1.CopyOperation
		message string
	}{
		{name: "from-alternatives", op: sourceextv1beta1.CopyOperation{From: "@repo/deploy/" + many + ".yaml", To: "@artifact/"},
			message: "artifact 'from-alternatives' copy[0]: copy from '@repo/deploy/" + many + ".yaml': pattern has 21 alternatives in '{}' groups, at most 20 are allowed"},
		{name: "exclude-alternatives", op: sourceextv1beta1.CopyOperation{From: "@repo/deploy/**", To: "@artifact/", Exclude: []string{many}},
			message: "copy from '@repo/deploy/**': exclude '" + many + "': pattern has 21 alternatives in '{}' groups, at most 20 are allowed"},
		{name: "exclude-unclosed", op: sourceextv1beta1.CopyOperation{From: "@repo/deploy/**", To: "@artifact/", Exclude: []string{"*.{md,txt"}},
			message: "copy from '@repo/deploy/**': malformed exclude pattern '*.{md,txt': unclosed '{'"},
	}
	for _, tc := range cases {
		bad := generator(tc.name, tc.op)
		g.Expect(env.Client.Create(ctx, bad)).To(Succeed(), tc.name)
		g.Eventually(func(g Gomega) {
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(bad), bad)).To(Succeed())
			g.Expect(conditions.IsFalse(bad, meta.ReadyCondition)).To(BeTrue(), "%v", bad.Status.Conditions)
			g.Expect(conditions.GetReason(bad, meta.ReadyCondition)).To(Equal(sourceextv1beta1.ValidationFailedReason))
			g.Expect(conditions.GetMessage(bad, meta.ReadyCondition)).To(ContainSubstring(tc.message))
			g.Expect(conditions.IsTrue(bad, meta.StalledCondition)).To(BeTrue())
		}, 60*time.Second, 100*time.Millisecond).Should(Succeed(), tc.name)
		g.Expect(bad.Status.Inventory).To(BeEmpty(), tc.name)
	}
}
