package cmd

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// TestCreateExportIsAccepted renders every `create … --export` and has the
// real API server validate it (server-side dry-run).
func TestCreateExportIsAccepted(t *testing.T) {
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte("replicaCount: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ns := env.NewNamespace(t)
	tests := []struct {
		args []string
		kind string
	}{
		{[]string{"source", "git", "app", "--url", "https://example.com/app", "--branch", "main", "--secret-ref", "creds"}, "GitRepository"},
		{[]string{"source", "git", "tagged", "--url", "ssh://git@example.com/app", "--tag-semver", ">=1.0.0"}, "GitRepository"},
		{[]string{"source", "oci", "manifests", "--url", "oci://ghcr.io/org/manifests", "--tag", "v1"}, "OCIRepository"},
		{[]string{"source", "helm", "podinfo", "--url", "https://stefanprodan.github.io/podinfo"}, "HelmRepository"},
		{[]string{"source", "chart", "podinfo", "--source", "HelmRepository/podinfo", "--chart", "podinfo", "--chart-version", ">=6.0.0"}, "HelmChart"},
		{[]string{"source", "chart", "local", "--source", "GitRepository/app", "--chart", "./charts/app", "--reconcile-strategy", "Revision"}, "HelmChart"},
		{[]string{"source", "bucket", "b", "--bucket-name", "manifests", "--endpoint", "minio.example.com", "--insecure"}, "Bucket"},
		{[]string{"kustomization", "app", "--source", "GitRepository/app", "--path", "./overlays/production",
			"--health-check", "Deployment/my-app.production", "--depends-on", "infra", "--decryption-secret", "sops-age"}, "Kustomization"},
		{[]string{"helmrelease", "podinfo", "--source", "HelmRepository/podinfo", "--chart", "podinfo", "--values", values,
			"--create-target-namespace", "--target-namespace", "web"}, "HelmRelease"},
		{[]string{"helmrelease", "oci", "--chart-ref", "OCIRepository/podinfo"}, "HelmRelease"},
		{[]string{"image", "repository", "my-app", "--image", "ghcr.io/myorg/my-app"}, "ImageRepository"},
		{[]string{"image", "policy", "my-app", "--image-ref", "my-app", "--select-semver", ">=1.0.0"}, "ImagePolicy"},
		{[]string{"image", "policy", "ts", "--image-ref", "my-app", "--select-numeric", "asc",
			"--filter-regex", "^main-[a-f0-9]+-(?P<ts>[0-9]+)", "--filter-extract", "$ts"}, "ImagePolicy"},
		{[]string{"image", "update", "my-app", "--git-repo-ref", "app", "--author-email", "bot@example.com", "--git-repo-path", "./overlays"}, "ImageUpdateAutomation"},
		{[]string{"alert-provider", "slack", "--type", "slack", "--channel", "deployments", "--secret-ref", "slack-webhook"}, "Provider"},
		{[]string{"alert", "deployments", "--provider-ref", "slack", "--event-source", "Kustomization/*", "--exclusion", ".*upgrade.*"}, "Alert"},
		{[]string{"receiver", "github", "--type", "github", "--event", "push", "--resource", "GitRepository/app", "--secret-ref", "token"}, "Receiver"},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.args[len(tt.args)-1], func(t *testing.T) {
			g := NewWithT(t)
			out, err := run(t, append([]string{"-n", ns, "create", "--export"}, tt.args...)...)
			g.Expect(err).NotTo(HaveOccurred())
			obj := &unstructured.Unstructured{}
			g.Expect(yaml.Unmarshal([]byte(out), &obj.Object)).To(Succeed())
			g.Expect(obj.GetKind()).To(Equal(tt.kind))
			g.Expect(env.Client.Create(context.Background(), obj, client.DryRunAll)).To(Succeed())
		})
	}
}

func TestCreateRefusesBadInput(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"source", "git", "x"}, "--url is required"},
		{[]string{"kustomization", "x", "--source", "app"}, "--source wants Kind/name"},
		{[]string{"source", "chart", "x", "--source", "HelmRepository/r"}, "--source and --chart are required"},
		{[]string{"helmrelease", "x"}, "either --chart-ref"},
		{[]string{"image", "policy", "x", "--image-ref", "r", "--select-semver", "1", "--select-alpha", "asc"}, "exactly one"},
		{[]string{"source", "git", "x", "--url", "https://e.com/r", "--label", "novalue"}, "--label wants key=value"},
	}
	for _, tt := range tests {
		_, err := run(t, append([]string{"create", "--export"}, tt.args...)...)
		NewWithT(t).Expect(err).To(MatchError(ContainSubstring(tt.want)), "%v", tt.args)
	}
}
