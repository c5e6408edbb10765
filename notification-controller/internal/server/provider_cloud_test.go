package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	notificationv1 "gotk.dev/pkg/apis/notification/v1beta3"
	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/testserver"
)

// cloudTransport sends the shared event server's cloud requests (token
// services, Pub/Sub, Event Hubs) to the test's cloud servers (useCloud).
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

func useCloud(t *testing.T, hc *http.Client) {
	testCloudTransport.mu.Lock()
	testCloudTransport.next = hc.Transport
	testCloudTransport.mu.Unlock()
	t.Cleanup(func() {
		testCloudTransport.mu.Lock()
		testCloudTransport.next = nil
		testCloudTransport.mu.Unlock()
	})
}

// TestProviderServiceAccountName: a googlepubsub, azureeventhub or
// azuredevops Provider with spec.serviceAccountName sends its event with
// that ServiceAccount's workload identity: a token of it minted by the
// API server (TokenRequest) is exchanged at the local Google STS (and
// impersonation) or Entra endpoint, and the exchanged token is what the
// local Pub/Sub, Event Hubs or Azure DevOps endpoint receives. Without it
// the controller's own cloud credentials are used, and other types ignore
// it (as Flux does). A missing ServiceAccount, one combined with a static
// token, a ServiceAccount without the cloud's annotations and the feature
// gate off are refused, each with its reason on the Alert.
func TestProviderServiceAccountName(t *testing.T) {
	g := NewWithT(t)
	h := start(t)
	ctx := t.Context()
	const gcpToken = "pubsub-access-token"
	cloud := testserver.NewCloudTokensForTest(t, gcpToken)
	testserver.IsolateCloudEnv(t)
	t.Setenv("AZURE_AUTHORITY_HOST", testserver.CloudAzureAuthority)
	useCloud(t, cloud.Client)
	// The controller's own credentials: the metadata server (GCP) and a
	// client secret (Entra).
	t.Setenv("GCE_METADATA_HOST", cloud.MetadataHost)
	for k, v := range map[string]string{"AZURE_TENANT_ID": testserver.CloudAzureTenant, "AZURE_CLIENT_ID": "gotk-client",
		"AZURE_CLIENT_SECRET": testserver.CloudAzureClientSecret} {
		t.Setenv(k, v)
	}
	devops := testserver.NewWebhookSinkForTest(t)
	devops.SetStatus(http.StatusOK, "{}")
	other := testserver.NewWebhookSinkForTest(t)

	ns := env.NewNamespace(t)
	const wip = "//iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/flux/providers/gotk"
	const gsa = "notify@proj.iam.gserviceaccount.com"
	for name, annotations := range map[string]map[string]string{
		"pubsub-sa":        {cloudauth.AnnotationGCPWorkloadIdentityProvider: wip, cloudauth.AnnotationGCPServiceAccount: gsa},
		"pubsub-federated": {cloudauth.AnnotationGCPWorkloadIdentityProvider: wip},
		"azure-sa":         {cloudauth.AnnotationAzureClientID: "notify-app", cloudauth.AnnotationAzureTenantID: testserver.CloudAzureTenant},
		"bare":             nil,
	} {
		g.Expect(env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annotations}})).To(Succeed())
	}
	h.create(t, secret(ns, "attrs", map[string]string{"headers": "env: prod\n"}))
	h.create(t, secret(ns, "sas", map[string]string{"address": "Endpoint=sb://sasns.servicebus.windows.net/;SharedAccessKeyName=" +
		testserver.CloudEventHubsKeyName + ";SharedAccessKey=" + testserver.CloudEventHubsKey + ";EntityPath=hub2"}))
	h.create(t, secret(ns, "jwt", map[string]string{"token": "static-jwt"}))

	const sha = "0123456789abcdef0123456789abcdef01234567"
	message := func(g Gomega, service, target string) testserver.CloudMessage {
		i := slices.IndexFunc(cloud.Messages(), func(m testserver.CloudMessage) bool { return m.Service == service && m.Target == target })
		g.Expect(i).NotTo(BeNumerically("<", 0), "no %s message to %s", service, target)
		return cloud.Messages()[i]
	}
	cases := []struct {
		name    string
		spec    notificationv1.ProviderSpec
		check   func(g Gomega, name string)
		warning string
	}{
		{name: "pubsub", spec: notificationv1.ProviderSpec{Type: "googlepubsub", Address: "proj", Channel: "flux-events",
			ServiceAccountName: "pubsub-sa", SecretRef: &meta.LocalObjectReference{Name: "attrs"}},
			check: func(g Gomega, name string) {
				m := message(g, "pubsub", "projects/proj/topics/flux-events")
				g.Expect(m.Authorization).To(Equal("Bearer " + gcpToken))
				g.Expect(m.Attributes).To(Equal(map[string]string{"env": "prod"}))
				var ev eventv1.Event
				g.Expect(json.Unmarshal(m.Data, &ev)).To(Succeed())
				g.Expect(ev.InvolvedObject.Name).To(Equal(name))
				g.Expect(cloud.Calls()).To(ContainElements("gcp-sts:"+wip, "gcp-impersonate:"+gsa))
			}},
		// Without a Google service account to impersonate, the federated
		// token itself is the credential.
		{name: "pubsub-federated", spec: notificationv1.ProviderSpec{Type: "googlepubsub", Address: "proj", Channel: "federated-events",
			ServiceAccountName: "pubsub-federated"},
			check: func(g Gomega, _ string) {
				g.Expect(message(g, "pubsub", "projects/proj/topics/federated-events").Authorization).To(Equal("Bearer federated." + wip))
			}},
		{name: "eventhub", spec: notificationv1.ProviderSpec{Type: "azureeventhub", Address: "hub1", Channel: "ns1", ServiceAccountName: "azure-sa"},
			check: func(g Gomega, name string) {
				m := message(g, "eventhubs", "ns1.servicebus.windows.net/hub1")
				g.Expect(m.Authorization).To(Equal("Bearer entra.notify-app"))
				var ev eventv1.Event
				g.Expect(json.Unmarshal(m.Data, &ev)).To(Succeed())
				g.Expect(ev.InvolvedObject.Name).To(Equal(name))
				g.Expect(cloud.Calls()).To(ContainElement("entra:notify-app " + cloudauth.EventHubsScope))
			}},
		{name: "eventhub-sas", spec: notificationv1.ProviderSpec{Type: "azureeventhub", SecretRef: &meta.LocalObjectReference{Name: "sas"}},
			check: func(g Gomega, _ string) {
				g.Expect(message(g, "eventhubs", "sasns.servicebus.windows.net/hub2").Authorization).To(HavePrefix("SharedAccessSignature sr="))
			}},
		{name: "devops", spec: notificationv1.ProviderSpec{Type: "azuredevops", Address: devops.URL() + "/org/proj/_git/app", ServiceAccountName: "azure-sa"},
			check: func(g Gomega, _ string) {
				reqs := devops.Requests()
				g.Expect(reqs).To(HaveLen(1))
				g.Expect(reqs[0].Path).To(Equal("/org/proj/_apis/git/repositories/app/commits/" + sha + "/statuses"))
				g.Expect(reqs[0].Header.Get("Authorization")).To(Equal("Bearer entra.notify-app"))
				g.Expect(cloud.Calls()).To(ContainElement("entra:notify-app " + cloudauth.AzureDevOpsScope))
			}},
		{name: "missing-sa", spec: notificationv1.ProviderSpec{Type: "googlepubsub", Address: "proj", Channel: "t", ServiceAccountName: "absent"},
			warning: "AuthenticationFailed: provider missing-sa: ServiceAccount " + ns + "/absent of spec.serviceAccountName of a googlepubsub Provider not found"},
		{name: "pubsub-controller", spec: notificationv1.ProviderSpec{Type: "googlepubsub", Address: "proj", Channel: "controller-events"},
			check: func(g Gomega, _ string) {
				g.Expect(message(g, "pubsub", "projects/proj/topics/controller-events").Authorization).To(Equal("Bearer " + gcpToken))
				g.Expect(cloud.Calls()).To(ContainElement("metadata:default"))
			}},
		{name: "eventhub-controller", spec: notificationv1.ProviderSpec{Type: "azureeventhub", Address: "hub3", Channel: "ns1"},
			check: func(g Gomega, _ string) {
				g.Expect(message(g, "eventhubs", "ns1.servicebus.windows.net/hub3").Authorization).To(Equal("Bearer entra.gotk-client"))
				g.Expect(cloud.Calls()).To(ContainElement("entra:gotk-client " + cloudauth.EventHubsScope))
			}},
		// As in Flux, the other types do not use it.
		{name: "sa-on-generic", spec: notificationv1.ProviderSpec{Type: "generic", Address: other.URL() + "/hook", ServiceAccountName: "absent"},
			check: func(g Gomega, _ string) {
				g.Expect(other.Requests()).To(HaveLen(1))
			}},
		{name: "token-and-sa", spec: notificationv1.ProviderSpec{Type: "azureeventhub", Address: "hub1", Channel: "ns1", ServiceAccountName: "azure-sa",
			SecretRef: &meta.LocalObjectReference{Name: "jwt"}},
			warning: "InvalidConfig: provider token-and-sa: azureeventhub provider: the Secret's `token` cannot be combined with ServiceAccount " + ns + "/azure-sa"},
		{name: "no-annotations", spec: notificationv1.ProviderSpec{Type: "azureeventhub", Address: "hub1", Channel: "ns1", ServiceAccountName: "bare"},
			warning: "NotificationDispatchFailed: failed to send the Progressing event of Kustomization/no-annotations to provider no-annotations (azureeventhub): " +
				"azureeventhub provider: provider azure: ServiceAccount " + ns + "/bare needs the azure.workload.identity/client-id and azure.workload.identity/tenant-id annotations"},
	}
	for _, tc := range cases {
		h.create(t, provider(ns, tc.name, tc.spec.Type, tc.spec))
		h.create(t, &notificationv1.Alert{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tc.name},
			Spec: notificationv1.AlertSpec{ProviderRef: meta.LocalObjectReference{Name: tc.name},
				EventSources: []notificationv1.CrossNamespaceObjectReference{{Kind: "Kustomization", Name: tc.name}}}})
		ev := newEvent("Kustomization", tc.name, ns, "error", "Health check failed")
		ev.Metadata = map[string]string{"kustomize.toolkit.fluxcd.io/revision": "main@sha1:" + sha}
		g.Expect(h.postEvent(t, ev)).To(Equal(http.StatusAccepted))
	}
	h.drain(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { expectOutcome(NewWithT(t), ns, tc.name, tc.check, tc.warning) })
	}

	t.Run("gate-off", func(t *testing.T) {
		g := NewWithT(t)
		off := &EventServer{Client: h.client, APIReader: env.Client, Recorder: h.recorder, Retry: testRetry,
			Log: ctrl.Log.WithName("event-server"), Tokens: env.Client, CloudHTTPClient: &http.Client{Transport: &testCloudTransport}}
		srv := httptest.NewServer(off)
		t.Cleanup(srv.Close)
		before := len(cloud.Messages())
		body, err := json.Marshal(newEvent("Kustomization", "pubsub", ns, "error", "gate off"))
		g.Expect(err).NotTo(HaveOccurred())
		resp, err := http.Post(srv.URL, "application/json", bytes.NewReader(body))
		g.Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		g.Expect(resp.StatusCode).To(Equal(http.StatusAccepted))
		g.Expect(off.Drain(ctx)).To(Succeed())
		g.Eventually(func(g Gomega) {
			g.Expect(warnings(g, ns, "pubsub")).To(ContainElement("FeatureGateDisabled: provider pubsub: spec.serviceAccountName of a googlepubsub Provider " +
				"with provider gcp needs the ObjectLevelWorkloadIdentity feature gate, which is disabled on this controller " +
				"(enable it with --feature-gates=ObjectLevelWorkloadIdentity=true)"))
		}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
		g.Expect(cloud.Messages()).To(HaveLen(before))
	})
}

// expectOutcome checks one Provider case of a table whose events were
// all sent: check passes with no warning on the Alert, or, without a
// check, the Alert gets the warning.
func expectOutcome(g Gomega, ns, name string, check func(g Gomega, name string), warning string) {
	if check != nil {
		check(g, name)
		g.Expect(warnings(g, ns, name)).To(BeEmpty())
		return
	}
	g.Eventually(func(g Gomega) {
		g.Expect(warnings(g, ns, name)).To(ContainElement(warning))
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
}
