package controller

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/testserver"
	"gotk.dev/pkg/testserver/githubapi"
)

// TestGitRepositoryGitHubApp clones with provider github: the app's JWT
// (signed with the Secret's private key) is exchanged at the GitHub API
// for an installation token, which the Git server accepts as the
// password of x-access-token. A key of another app and a malformed
// Secret are refused, naming why.
func TestGitRepositoryGitHubApp(t *testing.T) {
	g := NewWithT(t)
	startHarness(t)
	ns := env.NewNamespace(t)
	const installationToken = "ghs_installation-token-not-for-logs"
	git := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{Auth: testserver.BasicAuth{Username: cloudauth.GitHubTokenUser, Password: installationToken}})
	commit, err := git.CommitFiles("app", "main", map[string]string{"app.yaml": "kind: ConfigMap\n"}, "init")
	g.Expect(err).NotTo(HaveOccurred())
	api := githubapi.New(t, "user-token", "octocat")
	appKey, err := rsa.GenerateKey(rand.Reader, 2048)
	g.Expect(err).NotTo(HaveOccurred())
	api.EnableApp(1234, 5678, &appKey.PublicKey, installationToken)
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	g.Expect(err).NotTo(HaveOccurred())

	secret := func(key *rsa.PrivateKey, appID string) map[string][]byte {
		return map[string][]byte{
			cloudauth.GitHubAppIDKey: []byte(appID), cloudauth.GitHubAppInstallationIDKey: []byte("5678"),
			cloudauth.GitHubAppPrivateKeyKey: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
			cloudauth.GitHubAppBaseURLKey:    []byte(api.URL() + "api/v3"),
		}
	}
	newSecret(g, ns, "app", secret(appKey, "1234"))
	newSecret(g, ns, "other-app", secret(otherKey, "1234"))
	newSecret(g, ns, "bad-id", secret(appKey, "my-app"))

	for _, c := range []struct {
		name, secret, reason, message string
		stalled                       bool
	}{
		{name: "app", secret: "app"},
		{name: "other-app", secret: "other-app", reason: sourcev1.AuthenticationFailedReason, message: "provider github: GitHub App installation token: 401"},
		{name: "bad-id", secret: "bad-id", reason: sourcev1.InvalidProviderConfigurationReason, message: "githubAppID must be the app's numeric ID", stalled: true},
	} {
		obj := newGitRepository(ns, c.name, git.URL("app"), &sourcev1.GitRepositoryRef{Branch: "main"})
		obj.Spec.Provider = sourcev1.GitProviderGitHub
		obj.Spec.SecretRef = &meta.LocalObjectReference{Name: c.secret}
		g.Expect(env.Client.Create(t.Context(), obj)).To(Succeed())
		if c.reason == "" {
			got := waitReady(g, obj)
			g.Expect(got.Status.Artifact.Revision).To(Equal("main@sha1:" + commit))
			continue
		}
		got := waitCondition(g, newGitRepository(ns, c.name, "", nil), meta.ReadyCondition, metav1.ConditionFalse, c.reason)
		g.Expect(conditions.GetMessage(got, meta.ReadyCondition)).To(ContainSubstring(c.message), c.name)
		g.Expect(conditions.GetMessage(got, meta.ReadyCondition)).NotTo(ContainSubstring(installationToken), c.name)
		g.Expect(conditions.IsStalled(got)).To(Equal(c.stalled), c.name)
	}
}
