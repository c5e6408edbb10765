package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
)

// TestBuildKustomizationDryRun: --dry-run builds from the file alone, with
// the inline variables and without reading substituteFrom (the
// ConfigMap it names exists nowhere, and the kubeconfig points at no
// cluster); without --kustomization-file it is refused.
func TestBuildKustomizationDryRun(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	g.Expect(os.WriteFile(filepath.Join(dir, "cm.yaml"), []byte(
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: default\ndata:\n  region: ${region}\n  tier: ${tier:=web}\n"), 0o644)).To(Succeed())
	ksFile := filepath.Join(dir, "ks.yaml")
	g.Expect(os.WriteFile(ksFile, []byte(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: app
  namespace: flux-system
spec:
  interval: 1m
  path: ./
  prune: true
  sourceRef:
    kind: GitRepository
    name: app
  postBuild:
    substitute:
      region: eu-west-1
    substituteFrom:
    - kind: ConfigMap
      name: cluster-vars
`), 0o644)).To(Succeed())

	var out bytes.Buffer
	root := NewRoot(&out)
	root.SetArgs([]string{"--kubeconfig", "/nonexistent", "build", "kustomization", "app", "--path", dir, "--kustomization-file", ksFile, "--dry-run"})
	g.Expect(root.Execute()).To(Succeed())
	g.Expect(out.String()).To(ContainSubstring("region: eu-west-1"))
	g.Expect(out.String()).To(ContainSubstring("tier: web"))

	_, err := run(t, "build", "kustomization", "app", "--path", dir, "--dry-run")
	g.Expect(err).To(MatchError(ContainSubstring("--dry-run needs --kustomization-file")))
}
