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
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/testenv"
)

// TestSubstituteController applies the substitution fixture that the
// CLI's TestSubstituteCLI builds, with the same variables, and expects
// the same data: Flux's envsubst operators, a default, "$$" escapes.
// The suite's controller runs strict: an undefined variable fails the
// build naming it.
func TestSubstituteController(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	root, err := testenv.RepoRoot()
	g.Expect(err).NotTo(HaveOccurred())
	dir := filepath.Join(root, "pkg", "kustomize", "testdata", "substitute")
	manifest, err := os.ReadFile(filepath.Join(dir, "configmap.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	expected, err := os.ReadFile(filepath.Join(dir, "expected.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	var want map[string]string
	g.Expect(yaml.Unmarshal(expected, &want)).To(Succeed())

	g.Expect(env.Client.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vars"},
		Data: map[string]string{"version": "v6.7.1", "region": "eu-west-1"}})).To(Succeed())
	repo := newGitRepository(t, ns, "repo", publish(t, map[string]string{"cm.yaml": string(manifest)}))
	ks := newKustomization(t, ns, "app", "repo", func(ks *kustomizev1.Kustomization) {
		ks.Spec.TargetNamespace = ns
		ks.Spec.PostBuild = &kustomizev1.PostBuild{
			Substitute: map[string]string{"app": "podinfo"},
			SubstituteFrom: []kustomizev1.SubstituteReference{
				{Kind: "ConfigMap", Name: "vars"},
				{Kind: "Secret", Name: "absent", Optional: true},
			},
		}
	})
	waitReady(t, ks, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)
	var got corev1.ConfigMap
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "podinfo-settings"}, &got)).To(Succeed())
	g.Expect(got.Data).To(Equal(want))

	setArtifact(t, repo, publish(t, map[string]string{"cm.yaml": string(manifest) + "  missing: \"${undefined_var}\"\n"}))
	cur := waitReady(t, ks, metav1.ConditionFalse, kustomizev1.BuildFailedReason, 30*time.Second)
	msg := conditions.GetMessage(cur, meta.ReadyCondition)
	g.Expect(msg).To(ContainSubstring(`variable not set (strict mode): "undefined_var"`))
	g.Expect(msg).To(ContainSubstring("ConfigMap/" + ns + "/${app}-settings"))
}
