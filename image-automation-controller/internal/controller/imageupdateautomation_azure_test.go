package controller

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testserver"
)

// TestImageUpdateAutomationAzureSource: the source step of an automation
// whose GitRepository has provider azure clones and pushes with an Entra
// token for Azure DevOps as the bearer token, the controller's or (behind
// the gate) the GitRepository's ServiceAccount's; a ServiceAccount
// without the Azure annotations stalls.
func TestImageUpdateAutomationAzureSource(t *testing.T) {
	ctx := context.Background()
	ns := env.NewNamespace(t)
	cloud := testserver.NewCloudTokensForTest(t, "")
	testserver.IsolateCloudEnv(t)
	for k, v := range map[string]string{"AZURE_TENANT_ID": testserver.CloudAzureTenant, "AZURE_CLIENT_ID": "gotk-client",
		"AZURE_CLIENT_SECRET": testserver.CloudAzureClientSecret, "AZURE_AUTHORITY_HOST": testserver.CloudAzureAuthority} {
		t.Setenv(k, v)
	}
	for _, sa := range []*corev1.ServiceAccount{
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pusher", Annotations: map[string]string{
			cloudauth.AnnotationAzureClientID: "pusher-app", cloudauth.AnnotationAzureTenantID: testserver.CloudAzureTenant}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bare"}},
	} {
		NewWithT(t).Expect(env.Client.Create(ctx, sa)).To(Succeed())
	}
	for _, tc := range []struct {
		name, sa, wantToken string
		class               reconcile.Class
		reason, msg         string
	}{
		{name: "controller", wantToken: "entra.gotk-client"},
		{name: "workload-identity", sa: "pusher", wantToken: "entra.pusher-app"},
		{name: "no-annotations", sa: "bare", class: reconcile.Stalling, reason: cloudauth.InvalidProviderConfigurationReason,
			msg: "needs the azure.workload.identity/client-id and azure.workload.identity/tenant-id annotations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			gr := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tc.name}, Spec: sourcev1.GitRepositorySpec{
				URL: "https://dev.azure.com/org/project/_git/" + tc.name, Provider: sourcev1.GitProviderAzure, ServiceAccountName: tc.sa,
				Interval: metav1.Duration{Duration: time.Hour}}}
			g.Expect(env.Client.Create(ctx, gr)).To(Succeed())
			run := &automationRun{r: &ImageUpdateAutomationReconciler{Client: env.Client, WorkloadIdentity: true, CloudHTTPClient: cloud.Client}}
			err := run.source(ctx, newAutomation(ns, "auto", tc.name))
			if tc.reason != "" {
				g.Expect(err).To(HaveOccurred())
				e := reconcile.Classify(err, "")
				g.Expect([]any{e.Class, e.Reason}).To(Equal([]any{tc.class, tc.reason}))
				g.Expect(e.Error()).To(ContainSubstring(tc.msg))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(run.auth.BearerToken).To(Equal(tc.wantToken))
			g.Expect(cloud.Calls()).To(ContainElement("entra:" + tc.wantToken[len("entra."):] + " " + cloudauth.AzureDevOpsScope))
		})
	}
}
