package cmd

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"gotk.dev/pkg/testserver"
)

// TestCreateFluxFlags gives each Flux flag of `create` and checks its
// effect on the exported objects (a credentials flag adds the Secret,
// named as the source, before the source); the API server accepts every
// object (server-side dry-run).
func TestCreateFluxFlags(t *testing.T) {
	ssh := testserver.NewGitSSHForTest(t, testserver.GitSSHOptions{})
	key, err := ssh.NewClientKey()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "identity")
	if err := os.WriteFile(keyFile, key.PrivateKeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ns := env.NewNamespace(t)
	for _, tc := range []struct {
		name string
		args []string
		want map[string]string // "Kind:field.path" → value
	}{{
		name: "source git basic auth, submodules, provider",
		args: []string{"source", "git", "app", "--url", "https://example.com/app", "--username", "bot", "--password", "s3cret",
			"--recurse-submodules", "--provider", "generic"},
		want: map[string]string{"Secret:stringData.username": "bot", "Secret:stringData.password": "s3cret", "Secret:metadata.name": "app",
			"GitRepository:spec.secretRef.name": "app", "GitRepository:spec.recurseSubmodules": "true", "GitRepository:spec.provider": "generic"},
	}, {
		name: "source git private key file",
		args: []string{"source", "git", "over-ssh", "--url", ssh.URL("app"), "--private-key-file", keyFile},
		want: map[string]string{"Secret:stringData.identity": string(key.PrivateKeyPEM), "GitRepository:spec.secretRef.name": "over-ssh"},
	}, {
		name: "source helm basic auth",
		args: []string{"source", "helm", "charts", "--url", "https://charts.example.com", "--username", "bot", "--password", "s3cret"},
		want: map[string]string{"Secret:stringData.username": "bot", "HelmRepository:spec.secretRef.name": "charts"},
	}, {
		name: "source oci provider, ignore paths, insecure",
		args: []string{"source", "oci", "manifests", "--url", "oci://registry.local/manifests", "--provider", "aws", "--ignore-paths", "*.md", "--insecure"},
		want: map[string]string{"OCIRepository:spec.provider": "aws", "OCIRepository:spec.ignore": "*.md", "OCIRepository:spec.insecure": "true"},
	}, {
		name: "kustomization decryption provider and remote cluster",
		args: []string{"kustomization", "remote", "--source", "GitRepository/app", "--decryption-provider", "sops", "--kubeconfig-secret-ref", "prod-kubeconfig"},
		want: map[string]string{"Kustomization:spec.decryption.provider": "sops", "Kustomization:spec.kubeConfig.secretRef.name": "prod-kubeconfig"},
	}, {
		name: "helmrelease depends-on, service account, release name, values from",
		args: []string{"helmrelease", "web", "--chart-ref", "OCIRepository/podinfo", "--depends-on", "infra/cert-manager",
			"--service-account", "deployer", "--release-name", "podinfo", "--values-from", "Secret/web-values"},
		want: map[string]string{"HelmRelease:spec.dependsOn.0.name": "cert-manager", "HelmRelease:spec.dependsOn.0.namespace": "infra",
			"HelmRelease:spec.serviceAccountName": "deployer", "HelmRelease:spec.releaseName": "podinfo",
			"HelmRelease:spec.valuesFrom.0.kind": "Secret", "HelmRelease:spec.valuesFrom.0.name": "web-values"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			out, err := run(t, append([]string{"-n", ns, "create", "--export"}, tc.args...)...)
			g.Expect(err).NotTo(HaveOccurred(), out)
			objs := map[string]*unstructured.Unstructured{}
			for _, doc := range regexp.MustCompile(`(?m)^---\n`).Split(out, -1) {
				if strings.TrimSpace(doc) == "" {
					continue
				}
				obj := &unstructured.Unstructured{}
				g.Expect(yaml.Unmarshal([]byte(doc), &obj.Object)).To(Succeed())
				objs[obj.GetKind()] = obj
			}
			for field, want := range tc.want {
				kind, path, _ := strings.Cut(field, ":")
				g.Expect(objs).To(HaveKey(kind))
				g.Expect(fieldString(objs[kind].Object, path)).To(Equal(want), field)
			}
			for _, obj := range objs {
				g.Expect(env.Client.Create(context.Background(), obj, client.DryRunAll)).To(Succeed())
			}
		})
	}
}

// TestCreateFluxFlagsRefuseBadInput: conflicting or malformed flags stop
// with a clear message before anything is printed or applied.
func TestCreateFluxFlagsRefuseBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"source", "git", "x", "--url", "https://e.com/r", "--username", "u"}, "--username and --password go together"},
		{[]string{"source", "git", "x", "--url", "https://e.com/r", "--username", "u", "--password", "p", "--secret-ref", "s"}, "not both"},
		{[]string{"source", "git", "x", "--url", "https://e.com/r", "--private-key-file", "/nonexistent"}, "needs an ssh:// --url"},
		{[]string{"kustomization", "x", "--source", "GitRepository/a", "--decryption-provider", "vault"}, `the only provider is sops`},
		{[]string{"helmrelease", "x", "--chart-ref", "OCIRepository/a", "--values-from", "Deployment/x"}, "--values-from wants Secret/name or ConfigMap/name"},
	} {
		out, err := run(t, append([]string{"create", "--export"}, tc.args...)...)
		NewWithT(t).Expect(err).To(MatchError(ContainSubstring(tc.want)), "%v", tc.args)
		NewWithT(t).Expect(out).To(BeEmpty())
	}
}

// fieldString reads a dotted path (list indexes as numbers) of an object
// as text.
func fieldString(obj map[string]any, path string) string {
	var cur any = obj
	for _, p := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			i := 0
			for _, ch := range p {
				i = i*10 + int(ch-'0')
			}
			if i >= len(c) {
				return ""
			}
			cur = c[i]
		default:
			return ""
		}
	}
	if cur == nil {
		return ""
	}
	if s, ok := cur.(string); ok {
		return s
	}
	b, _ := yaml.Marshal(cur)
	return strings.TrimSpace(string(b))
}
