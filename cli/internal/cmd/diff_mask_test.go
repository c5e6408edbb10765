package cmd

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func diffTestSecret(fields map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "s", "namespace": "ns"}}}
	for k, v := range fields {
		u.Object[k] = v
	}
	return u
}

// TestDiffMasksSecretValues diffs a changed Secret against a real API
// server: the output names the changed and unchanged keys and holds no
// value, neither in clear nor base64.
func TestDiffMasksSecretValues(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	dir := t.TempDir()
	ksFile := filepath.Join(t.TempDir(), "ks.yaml")
	g.Expect(os.WriteFile(ksFile, []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: "+ns+
		"\nspec:\n  interval: 5m\n  path: ./\n  prune: true\n  sourceRef: {kind: GitRepository, name: app}\n"), 0o644)).To(Succeed())

	live := diffTestSecret(map[string]any{"stringData": map[string]any{"password": "diff-canary-old-91c2", "user": "diff-canary-user-91c2"}})
	live.SetNamespace(ns)
	g.Expect(env.Client.Patch(ctx, live, client.Apply, client.FieldOwner("kustomize-controller"), client.ForceOwnership)).To(Succeed())
	g.Expect(os.WriteFile(filepath.Join(dir, "secret.yaml"), []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: "+ns+
		"\nstringData:\n  password: diff-canary-new-91c2\n  user: diff-canary-user-91c2\n"), 0o644)).To(Succeed())

	out, err := run(t, "diff", "kustomization", "app", "--path", dir, "--kustomization-file", ksFile)
	g.Expect(err).To(MatchError(ContainSubstring("1 objects would change")))
	g.Expect(out).To(ContainSubstring("► Secret/" + ns + "/s configured"))
	g.Expect(out).To(ContainSubstring("-  password: '*** (before)'"))
	g.Expect(out).To(ContainSubstring("+  password: '*** (after)'"))
	g.Expect(out).To(ContainSubstring("user: '***'"))
	for _, leak := range []string{"diff-canary", "ZGlmZi1jYW5hcnkt"} {
		g.Expect(out).NotTo(ContainSubstring(leak))
	}
}
