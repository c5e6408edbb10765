package cmd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"gotk.dev/pkg/testserver"
)

// writeFiles writes name→content into a temporary directory and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestCreateSecretExport compares `create secret … --export` with the YAML
// Flux's CLI prints for the same flags (its data keys, types, labels and
// annotations).
func TestCreateSecretExport(t *testing.T) {
	policy := "{\n  \"version\": \"1.0\",\n  \"trustPolicies\": []\n}\n"
	dir := writeFiles(t, map[string]string{"tls.crt": "CRT\n", "tls.key": "KEY\n", "ca.crt": "CA\n",
		"app.pem": "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", "policy.json": policy})
	f := func(name string) string { return filepath.Join(dir, name) }
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"git basic auth", []string{"git", "podinfo-auth", "--url", "https://github.com/stefanprodan/podinfo", "-u", "my-username", "-p", "my-password"}, `apiVersion: v1
kind: Secret
metadata:
  name: podinfo-auth
  namespace: my-namespace
stringData:
  password: my-password
  username: my-username
`},
		{"git bearer token and CA", []string{"git", "bearer", "--url", "https://github.com/org/repo", "--bearer-token", "tok", "--ca-crt-file", f("ca.crt")}, `apiVersion: v1
kind: Secret
metadata:
  name: bearer
  namespace: my-namespace
stringData:
  bearerToken: tok
  ca.crt: |
    CA
`},
		{"helm with TLS and a label", []string{"helm", "repo", "-u", "u", "-p", "p", "--tls-crt-file", f("tls.crt"), "--tls-key-file", f("tls.key"), "--label", "team=web"}, `apiVersion: v1
kind: Secret
metadata:
  labels:
    team: web
  name: repo
  namespace: my-namespace
stringData:
  password: p
  tls.crt: |
    CRT
  tls.key: |
    KEY
  username: u
`},
		{"oci", []string{"oci", "ghcr", "--url", "ghcr.io", "--username", "stefanprodan", "--password", "password"}, `apiVersion: v1
kind: Secret
metadata:
  name: ghcr
  namespace: my-namespace
stringData:
  .dockerconfigjson: '{"auths":{"ghcr.io":{"username":"stefanprodan","password":"password","auth":"c3RlZmFucHJvZGFuOnBhc3N3b3Jk"}}}'
type: kubernetes.io/dockerconfigjson
`},
		{"tls", []string{"tls", "certs", "--tls-crt-file", f("tls.crt"), "--tls-key-file", f("tls.key"), "--ca-crt-file", f("ca.crt")}, `apiVersion: v1
kind: Secret
metadata:
  name: certs
  namespace: my-namespace
stringData:
  ca.crt: |
    CA
  tls.crt: |
    CRT
  tls.key: |
    KEY
`},
		{"proxy", []string{"proxy", "proxy-secret", "--address", "https://my-proxy.com", "--username", "my-username", "--password", "my-password"}, `apiVersion: v1
kind: Secret
metadata:
  name: proxy-secret
  namespace: my-namespace
stringData:
  address: https://my-proxy.com
  password: my-password
  username: my-username
type: Opaque
`},
		{"githubapp", []string{"githubapp", "appinfo", "--app-id", "1", "--app-installation-id", "2", "--app-private-key", f("app.pem"), "--app-base-url", "www.example.com/api/v3"}, `apiVersion: v1
kind: Secret
metadata:
  name: appinfo
  namespace: my-namespace
stringData:
  githubAppBaseURL: www.example.com/api/v3
  githubAppID: "1"
  githubAppInstallationID: "2"
  githubAppPrivateKey: |-
    -----BEGIN RSA PRIVATE KEY-----
    AAAA
    -----END RSA PRIVATE KEY-----
type: Opaque
`},
		// The webhook path is Flux's for the same token, name and namespace.
		{"receiver", []string{"receiver", "receiver-secret", "--type", "github", "--token", "test-token", "--hostname", "flux.example.com"}, `apiVersion: v1
kind: Secret
metadata:
  annotations:
    notification.toolkit.fluxcd.io/webhook: https://flux.example.com/hook/106120121d366c2f67e93200f6c1dbe938235eb588daa5e8c0516d3a77ac1dee
  name: receiver-secret
  namespace: my-namespace
stringData:
  token: test-token
`},
		{"receiver gcr", []string{"receiver", "gcr-secret", "--type", "gcr", "--token", "test-token", "--hostname", "flux.example.com", "--email-claim", "sa@project.iam.gserviceaccount.com"}, `apiVersion: v1
kind: Secret
metadata:
  annotations:
    notification.toolkit.fluxcd.io/webhook: https://flux.example.com/hook/6d6c55e9affb9d1e0d101ce604ae4270880ec1ff24d1bd2d928fcd64243d21a4
  name: gcr-secret
  namespace: my-namespace
stringData:
  audience: https://flux.example.com/hook/6d6c55e9affb9d1e0d101ce604ae4270880ec1ff24d1bd2d928fcd64243d21a4
  email: sa@project.iam.gserviceaccount.com
  token: test-token
`},
		{"notation", []string{"notation", "notation-config", "--trust-policy-file", f("policy.json"), "--ca-cert-file", f("ca.crt")}, `apiVersion: v1
kind: Secret
metadata:
  name: notation-config
  namespace: my-namespace
stringData:
  ca.crt: |
    CA
  trustpolicy.json: |
    {
      "version": "1.0",
      "trustPolicies": []
    }
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, append([]string{"-n", "my-namespace", "create", "secret", "--export"}, tt.args...)...)
			g := NewWithT(t)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(out).To(Equal("---\n" + tt.want))
		})
	}
}

// TestCreateSecretGitSSH generates a key (Flux's default ECDSA P-384) and
// records the host key a real SSH Git server presents.
func TestCreateSecretGitSSH(t *testing.T) {
	g := NewWithT(t)
	srv := testserver.NewGitSSHForTest(t, testserver.GitSSHOptions{})
	out, err := run(t, "-n", "apps", "create", "secret", "git", "deploy", "--url", srv.URL("org/repo.git"), "--export")
	g.Expect(err).NotTo(HaveOccurred())
	var s corev1.Secret
	g.Expect(yaml.Unmarshal([]byte(out), &s)).To(Succeed())
	g.Expect(s.StringData).To(HaveLen(3))
	g.Expect(s.StringData["identity"]).To(HavePrefix("-----BEGIN OPENSSH PRIVATE KEY-----"))
	g.Expect(s.StringData["identity.pub"]).To(HavePrefix("ecdsa-sha2-nistp384 "))
	g.Expect(s.StringData["known_hosts"]).To(Equal(srv.KnownHostsLine()))

	_, err = run(t, "create", "secret", "git", "x", "--url", srv.URL("r"), "--ssh-key-algorithm", "dsa", "--export")
	g.Expect(err).To(MatchError(ContainSubstring("--ssh-key-algorithm must be rsa, ecdsa or ed25519")))
}

// TestCreateSecretApply applies secrets to the API server; a second apply
// with other values updates the same Secret.
func TestCreateSecretApply(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	for _, pass := range []string{"one", "two"} {
		out, err := run(t, "-n", ns, "create", "secret", "git", "auth", "--url", "https://example.com/r", "-u", "me", "-p", pass)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(ContainSubstring("✔ secret auth created"))
		var s corev1.Secret
		g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "auth"}, &s)).To(Succeed())
		g.Expect(s.Type).To(Equal(corev1.SecretTypeOpaque))
		g.Expect(string(s.Data["password"])).To(Equal(pass))
		g.Expect(string(s.Data["username"])).To(Equal("me"))
	}
	_, err := run(t, "-n", ns, "create", "secret", "oci", "reg", "--url", "ghcr.io", "-u", "u", "-p", "p")
	g.Expect(err).NotTo(HaveOccurred())
	var s corev1.Secret
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "reg"}, &s)).To(Succeed())
	g.Expect(s.Type).To(Equal(corev1.SecretTypeDockerConfigJson))
	g.Expect(string(s.Data[".dockerconfigjson"])).To(ContainSubstring(`"ghcr.io"`))
}

func TestCreateSecretRefusesBadInput(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"git", "x"}, "--url is required"},
		{[]string{"git", "x", "--url", "https://e.com/r", "-u", "me"}, "--username and --password go together"},
		{[]string{"helm", "x", "--tls-crt-file", "a"}, "--tls-crt-file and --tls-key-file go together"},
		{[]string{"oci", "x", "--url", "ghcr.io"}, "--url, --username and --password are required"},
		{[]string{"tls", "x"}, "give --tls-crt-file"},
		{[]string{"proxy", "x"}, "--address is required"},
		{[]string{"githubapp", "x", "--app-id", "1"}, "--app-installation-id is required"},
		{[]string{"receiver", "x", "--type", "svn", "--hostname", "h"}, `receiver type "svn" is not supported`},
		{[]string{"receiver", "x", "--type", "gcr", "--hostname", "h"}, "--email-claim is required"},
		{[]string{"notation", "x", "--trust-policy-file", "p.json"}, "--ca-cert-file is required"},
	}
	for _, tt := range tests {
		_, err := run(t, append([]string{"create", "secret", "--export"}, tt.args...)...)
		NewWithT(t).Expect(err).To(MatchError(ContainSubstring(tt.want)), "%s", strings.Join(tt.args, " "))
	}
}
