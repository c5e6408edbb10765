package controller

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/testserver"
)

// cloudTransport sends the shared GitRepository reconciler's cloud token
// requests to the test's cloud token services (set by useCloudClient).
type cloudTransport struct {
	mu   sync.Mutex
	next http.RoundTripper
}

func (c *cloudTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	next := c.next
	c.mu.Unlock()
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(r)
}

var testCloudTransport cloudTransport

func useCloudClient(t *testing.T, hc *http.Client) {
	testCloudTransport.mu.Lock()
	testCloudTransport.next = hc.Transport
	testCloudTransport.mu.Unlock()
	t.Cleanup(func() {
		testCloudTransport.mu.Lock()
		testCloudTransport.next = nil
		testCloudTransport.mu.Unlock()
	})
}

// TestGitRepositoryAzureProvider clones with provider azure from a Git
// server that, like Azure DevOps, takes only Entra tokens issued for
// Azure DevOps, as bearer tokens: with the controller's credentials, and
// with a ServiceAccount's workload identity (its real token exchanged as
// the client assertion). A ServiceAccount without the Azure annotations
// stalls; refused credentials are retried, both naming why. A second
// reconcile asks Entra for no new token (the token cache).
func TestGitRepositoryAzureProvider(t *testing.T) {
	g := NewWithT(t)
	startHarness(t)
	ctx := t.Context()
	cloud := testserver.NewCloudTokensForTest(t, "")
	testserver.IsolateCloudEnv(t)
	for k, v := range map[string]string{"AZURE_TENANT_ID": testserver.CloudAzureTenant, "AZURE_CLIENT_ID": "gotk-client",
		"AZURE_CLIENT_SECRET": testserver.CloudAzureClientSecret, "AZURE_AUTHORITY_HOST": testserver.CloudAzureAuthority} {
		t.Setenv(k, v)
	}
	useCloudClient(t, cloud.Client)
	git := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{Wrap: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			client, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer entra.")
			if !ok || !slices.Contains(cloud.Calls(), "entra:"+client+" "+cloudauth.AzureDevOpsScope) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="azure devops"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}})
	commit, err := git.CommitFiles("app", "main", map[string]string{"app.yaml": "kind: ConfigMap\n"}, "init")
	g.Expect(err).NotTo(HaveOccurred())

	ns := env.NewNamespace(t)
	g.Expect(env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "puller", Annotations: map[string]string{
		cloudauth.AnnotationAzureClientID: "tenant-app", cloudauth.AnnotationAzureTenantID: testserver.CloudAzureTenant}}})).To(Succeed())
	g.Expect(env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bare"}})).To(Succeed())

	for _, c := range []struct {
		name, sa, reason, message, wantCall string
		env                                 map[string]string
		stalled                             bool
	}{
		{name: "controller", wantCall: "entra:gotk-client " + cloudauth.AzureDevOpsScope},
		{name: "workload-identity", sa: "puller", wantCall: "entra:tenant-app " + cloudauth.AzureDevOpsScope},
		{name: "no-annotations", sa: "bare", reason: sourcev1.InvalidProviderConfigurationReason, stalled: true,
			message: "needs the azure.workload.identity/client-id and azure.workload.identity/tenant-id annotations"},
		{name: "refused", env: map[string]string{"AZURE_CLIENT_SECRET": "wrong"}, reason: sourcev1.AuthenticationFailedReason,
			message: "provider azure: Entra token for Azure DevOps"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := NewWithT(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			obj := newGitRepository(ns, c.name, git.URL("app"), &sourcev1.GitRepositoryRef{Branch: "main"})
			obj.Spec.Provider = sourcev1.GitProviderAzure
			obj.Spec.ServiceAccountName = c.sa
			g.Expect(env.Client.Create(ctx, obj)).To(Succeed())
			if c.reason == "" {
				got := waitReady(g, obj)
				g.Expect(got.Status.Artifact.Revision).To(Equal("main@sha1:" + commit))
				g.Expect(cloud.Calls()).To(ContainElement(c.wantCall))
				// A second reconcile reuses the cached token.
				token := time.Now().Format(time.RFC3339Nano)
				g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
				obj.Annotations = map[string]string{meta.ReconcileRequestAnnotation: token}
				g.Expect(env.Client.Update(ctx, obj)).To(Succeed())
				g.Eventually(func(g Gomega) {
					g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(obj), got)).To(Succeed())
					g.Expect(got.Status.LastHandledReconcileAt).To(Equal(token))
				}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
				g.Expect(slices.DeleteFunc(cloud.Calls(), func(call string) bool { return call != c.wantCall })).To(HaveLen(1))
				return
			}
			got := waitCondition(g, newGitRepository(ns, c.name, "", nil), meta.ReadyCondition, metav1.ConditionFalse, c.reason)
			g.Expect(conditions.GetMessage(got, meta.ReadyCondition)).To(ContainSubstring(c.message))
			g.Expect(conditions.IsStalled(got)).To(Equal(c.stalled))
		})
	}
}
