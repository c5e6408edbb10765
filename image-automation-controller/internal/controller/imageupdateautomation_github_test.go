package controller

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	imagev1 "gotk.dev/pkg/apis/image/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testserver/githubapi"
)

// TestImageUpdateAutomationGitHubAppSource: the source step of an
// automation whose GitRepository has provider github exchanges the app's
// JWT at the GitHub API for an installation token and clones and pushes
// as x-access-token with it; without a secretRef, or with a key of
// another app, it is refused naming why.
func TestImageUpdateAutomationGitHubAppSource(t *testing.T) {
	ctx := context.Background()
	ns := env.NewNamespace(t)
	const token = "ghs_automation-token"
	api := githubapi.New(t, "user-token", "octocat")
	appKey, err := rsa.GenerateKey(rand.Reader, 2048)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	api.EnableApp(42, 7, &appKey.PublicKey, token)
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	for name, key := range map[string]*rsa.PrivateKey{"app": appKey, "other-app": otherKey} {
		NewWithT(t).Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string][]byte{
			cloudauth.GitHubAppIDKey: []byte("42"), cloudauth.GitHubAppInstallationIDKey: []byte("7"),
			cloudauth.GitHubAppPrivateKeyKey: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
			cloudauth.GitHubAppBaseURLKey:    []byte(api.URL()),
		}})).To(Succeed())
	}
	for _, tc := range []struct {
		name, secret string
		class        reconcile.Class
		reason, msg  string
	}{
		{name: "app", secret: "app"},
		{name: "no-secret", class: reconcile.Stalling, reason: imagev1.InvalidSourceConfigReason, msg: "uses provider github without a secretRef"},
		{name: "other-app", secret: "other-app", class: reconcile.Transient, reason: imagev1.AuthenticationFailedReason, msg: "provider github: GitHub App installation token: 401"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			gr := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tc.name}, Spec: sourcev1.GitRepositorySpec{
				URL: "https://github.com/org/" + tc.name, Provider: sourcev1.GitProviderGitHub, Interval: metav1.Duration{Duration: time.Hour}}}
			if tc.secret != "" {
				gr.Spec.SecretRef = &meta.LocalObjectReference{Name: tc.secret}
			}
			g.Expect(env.Client.Create(ctx, gr)).To(Succeed())
			run := &automationRun{r: &ImageUpdateAutomationReconciler{Client: env.Client}}
			err := run.source(ctx, newAutomation(ns, "auto", tc.name))
			if tc.reason != "" {
				g.Expect(err).To(HaveOccurred())
				e := reconcile.Classify(err, "")
				g.Expect([]any{e.Class, e.Reason}).To(Equal([]any{tc.class, tc.reason}))
				g.Expect(e.Error()).To(ContainSubstring(tc.msg))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect([]string{run.auth.Username, run.auth.Password}).To(Equal([]string{cloudauth.GitHubTokenUser, token}))
		})
	}
}
