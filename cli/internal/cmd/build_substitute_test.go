package cmd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/testenv"
)

// substituteFixture returns the shared substitution fixture's manifest
// and the data the controller's test expects from it too.
func substituteFixture(t *testing.T) (manifest string, want map[string]string) {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "pkg", "kustomize", "testdata", "substitute")
	m, err := os.ReadFile(filepath.Join(dir, "configmap.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := os.ReadFile(filepath.Join(dir, "expected.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(e, &want); err != nil {
		t.Fatal(err)
	}
	return string(m), want
}

// TestSubstituteCLI: gotk build substitutes as the controller does (the
// shared fixture, substituteFrom read from the cluster, an absent
// optional source skipped), non-strict by default and strict with
// --strict-substitute.
func TestSubstituteCLI(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	manifest, want := substituteFixture(t)
	dir := t.TempDir()
	g.Expect(os.WriteFile(filepath.Join(dir, "cm.yaml"), []byte(manifest), 0o644)).To(Succeed())

	g.Expect(env.Client.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vars"},
		Data: map[string]string{"version": "v6.7.1", "region": "eu-west-1"}})).To(Succeed())
	g.Expect(env.Client.Create(ctx, &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: kustomizev1.KustomizationSpec{
			Interval:        metav1.Duration{Duration: time.Hour},
			Path:            "./",
			TargetNamespace: ns,
			SourceRef:       kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "repo"},
			PostBuild: &kustomizev1.PostBuild{
				Substitute: map[string]string{"app": "podinfo"},
				SubstituteFrom: []kustomizev1.SubstituteReference{
					{Kind: "ConfigMap", Name: "vars"},
					{Kind: "Secret", Name: "absent", Optional: true},
				},
			},
		},
	})).To(Succeed())

	out, err := run(t, "build", "kustomization", "app", "-n", ns, "--path", dir)
	g.Expect(err).NotTo(HaveOccurred())
	var got corev1.ConfigMap
	g.Expect(yaml.Unmarshal([]byte(strings.TrimPrefix(out, "---\n")), &got)).To(Succeed())
	g.Expect(got.Name).To(Equal("podinfo-settings"))
	g.Expect(got.Data).To(Equal(want))

	// An undefined variable: empty by default, an error naming it with
	// --strict-substitute, in build and diff alike.
	g.Expect(os.WriteFile(filepath.Join(dir, "cm.yaml"), []byte(manifest+"  missing: \"${undefined_var}\"\n"), 0o644)).To(Succeed())
	out, err = run(t, "build", "kustomization", "app", "-n", ns, "--path", dir)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("missing: null"), "quotes do not survive, as in Flux")
	for _, cmd := range []string{"build", "diff"} {
		_, err = run(t, cmd, "kustomization", "app", "-n", ns, "--path", dir, "--strict-substitute")
		g.Expect(err).To(MatchError(ContainSubstring(`variable not set (strict mode): "undefined_var"`)), cmd)
		g.Expect(err).To(MatchError(ContainSubstring("ConfigMap/" + ns + "/${app}-settings")))
	}
}
