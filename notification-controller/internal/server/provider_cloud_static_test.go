package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	notificationv1 "gotk.dev/pkg/apis/notification/v1beta3"
	"gotk.dev/pkg/testserver"
)

// TestProviderStaticCloudCredentials: googlepubsub and azureeventhub
// Providers send with the static credentials Flux documents in their
// Secret: a Google service account JSON key in `token` (exchanged at the
// key's token_uri with a JWT-bearer assertion the token endpoint checks
// against the key's public half), an Event Hubs SAS connection string in
// `address`, and an Entra JWT in `token` sent as the bearer as is. The
// local Pub/Sub and Event Hubs endpoints record each request, which is
// checked field by field against the REST APIs (Pub/Sub
// projects.topics.publish; Event Hubs "Send event"). A key the token
// endpoint does not know, an expired JWT or one for another audience,
// and a SAS signed with the wrong key each fail delivery with the
// service's refusal on the Alert; a key or connection string that cannot
// be used is the Provider's configuration (InvalidConfig). As in Flux, a
// service account key takes precedence over spec.serviceAccountName.
func TestProviderStaticCloudCredentials(t *testing.T) {
	g := NewWithT(t)
	h := start(t)
	cloud := testserver.NewCloudTokensForTest(t, "unused-registry-password")
	// No controller credentials: only the Secret's can work.
	testserver.IsolateCloudEnv(t)
	useCloud(t, cloud.Client)
	ns := env.NewNamespace(t)

	const email = "notify@proj.iam.gserviceaccount.com"
	const pubsubScope = "https://www.googleapis.com/auth/pubsub"
	jwt := cloud.AzureJWT("flux-app", testserver.CloudEventHubsAudience, time.Now().Add(time.Hour))
	sas := func(host, key, hub string) string {
		s := "Endpoint=sb://" + host + "/;SharedAccessKeyName=" + testserver.CloudEventHubsKeyName + ";SharedAccessKey=" + key
		if hub != "" {
			s += ";EntityPath=" + hub
		}
		return s
	}
	for name, data := range map[string]map[string]string{
		"key":     {"token": string(cloud.GoogleServiceAccountKey(email)), "headers": "env: prod\nteam: platform\n"},
		"unknown": {"token": string(testserver.UnknownGoogleServiceAccountKey(email))},
		"notkey":  {"token": "not-a-json-key"},
		"badpem": {"token": `{"type":"service_account","client_email":"` + email + `","private_key_id":"k","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n","token_uri":"` +
			testserver.CloudGoogleTokenURI + `"}`},
		"jwt":          {"token": jwt},
		"jwt-expired":  {"token": cloud.AzureJWT("flux-app", testserver.CloudEventHubsAudience, time.Now().Add(-time.Minute))},
		"jwt-audience": {"token": cloud.AzureJWT("flux-app", "https://management.azure.com", time.Now().Add(time.Hour))},
		"sas":          {"address": sas("sasns2.servicebus.windows.net", testserver.CloudEventHubsKey, "hub5")},
		"sas-wrongkey": {"address": sas("sasns2.servicebus.windows.net", "d3Jvbmc=", "hub6")},
		// Flux's documented namespace-level form, which names no Event Hub.
		"sas-nohub": {"address": sas("sasns2.servicebus.windows.net", testserver.CloudEventHubsKey, "")},
	} {
		h.create(t, secret(ns, name, data))
	}

	message := func(g Gomega, service, target string) testserver.CloudMessage {
		msgs := cloud.Messages()
		i := slices.IndexFunc(msgs, func(m testserver.CloudMessage) bool { return m.Service == service && m.Target == target })
		g.Expect(i).NotTo(BeNumerically("<", 0), "no %s message to %s", service, target)
		return msgs[i]
	}
	// sentEvent checks the event JSON a service received.
	sentEvent := func(g Gomega, data []byte, name string) {
		var ev eventv1.Event
		g.Expect(json.Unmarshal(data, &ev)).To(Succeed())
		g.Expect(ev.InvolvedObject.Kind).To(Equal("Kustomization"))
		g.Expect(ev.InvolvedObject.Name).To(Equal(name))
		g.Expect(ev.InvolvedObject.Namespace).To(Equal(ns))
		g.Expect(ev.Reason).To(Equal("Progressing"))
		g.Expect(ev.Severity).To(Equal("error"))
		g.Expect(ev.Message).To(Equal("Health check failed"))
		g.Expect(ev.ReportingController).To(Equal("kustomize-controller"))
	}
	// eventHubsRequest checks the REST "Send event" request: POST
	// https://{namespace}/{hub}/messages?timeout=60&api-version=2014-01,
	// the event as the body and the Atom entry content type; no
	// BrokerProperties (partition key, message ID) are set.
	eventHubsRequest := func(g Gomega, m testserver.CloudMessage, name string) {
		g.Expect(m.Query).To(Equal(url.Values{"timeout": {"60"}, "api-version": {"2014-01"}}))
		g.Expect(m.Header.Get("Content-Type")).To(Equal("application/atom+xml;type=entry;charset=utf-8"))
		g.Expect(m.Header.Values("BrokerProperties")).To(BeEmpty())
		g.Expect(m.Body).To(Equal(m.Data))
		sentEvent(g, m.Body, name)
	}
	dispatchFailed := func(name, typ, why string) string {
		return "NotificationDispatchFailed: failed to send the Progressing event of Kustomization/" + name + " to provider " + name +
			" (" + typ + "): " + why
	}

	cases := []struct {
		name      string
		spec      notificationv1.ProviderSpec
		check     func(g Gomega, name string)
		warning   string
		noMessage string // a target that must have received nothing
	}{
		{name: "pubsub-key", spec: notificationv1.ProviderSpec{Type: "googlepubsub", Address: "proj", Channel: "key-events",
			SecretRef: &meta.LocalObjectReference{Name: "key"}},
			check: func(g Gomega, name string) {
				m := message(g, "pubsub", "projects/proj/topics/key-events")
				g.Expect(m.Authorization).To(Equal("Bearer sa-key." + email))
				g.Expect(cloud.Calls()).To(ContainElement("gcp-key:" + email + " " + pubsubScope))
				g.Expect(m.Header.Get("Content-Type")).To(HavePrefix("application/json"))
				// PublishRequest {"messages": [PubsubMessage]}; a
				// PubsubMessage the client sends has data (base64) and
				// attributes (string map) only: messageId and publishTime
				// are the server's, orderingKey is unset.
				var req map[string][]map[string]any
				g.Expect(json.Unmarshal(m.Body, &req)).To(Succeed())
				g.Expect(req).To(HaveKey("messages"))
				g.Expect(req).To(HaveLen(1))
				g.Expect(req["messages"]).To(HaveLen(1))
				msg := req["messages"][0]
				g.Expect(msg).To(HaveLen(2))
				g.Expect(msg["attributes"]).To(Equal(map[string]any{"env": "prod", "team": "platform"}))
				data, ok := msg["data"].(string)
				g.Expect(ok).To(BeTrue(), "data is a string")
				decoded, err := base64.StdEncoding.DecodeString(data)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(decoded).To(Equal(m.Data))
				sentEvent(g, decoded, name)
			}},
		// As in Flux, the key takes precedence: the ServiceAccount (absent
		// here) is not looked up.
		{name: "pubsub-key-and-sa", spec: notificationv1.ProviderSpec{Type: "googlepubsub", Address: "proj", Channel: "key-sa-events",
			ServiceAccountName: "absent", SecretRef: &meta.LocalObjectReference{Name: "key"}},
			check: func(g Gomega, name string) {
				m := message(g, "pubsub", "projects/proj/topics/key-sa-events")
				g.Expect(m.Authorization).To(Equal("Bearer sa-key." + email))
				sentEvent(g, m.Data, name)
			}},
		{name: "pubsub-unknown-key", spec: notificationv1.ProviderSpec{Type: "googlepubsub", Address: "proj", Channel: "unknown-events",
			SecretRef: &meta.LocalObjectReference{Name: "unknown"}},
			warning: dispatchFailed("pubsub-unknown-key", "googlepubsub",
				"googlepubsub provider: the token endpoint refused the service account key: invalid_grant: Invalid JWT Signature."),
			noMessage: "projects/proj/topics/unknown-events"},
		{name: "pubsub-not-a-key", spec: notificationv1.ProviderSpec{Type: "googlepubsub", Address: "proj", Channel: "t",
			SecretRef: &meta.LocalObjectReference{Name: "notkey"}},
			warning: "InvalidConfig: provider pubsub-not-a-key: googlepubsub provider: the Secret's `token` is not a GCP service account JSON key"},
		{name: "pubsub-bad-private-key", spec: notificationv1.ProviderSpec{Type: "googlepubsub", Address: "proj", Channel: "t",
			SecretRef: &meta.LocalObjectReference{Name: "badpem"}},
			warning: "InvalidConfig: provider pubsub-bad-private-key: googlepubsub provider: the Secret's `token` is not a GCP service account JSON key"},
		{name: "eventhub-jwt", spec: notificationv1.ProviderSpec{Type: "azureeventhub", Address: "hub4", Channel: "ns2",
			SecretRef: &meta.LocalObjectReference{Name: "jwt"}},
			check: func(g Gomega, name string) {
				m := message(g, "eventhubs", "ns2.servicebus.windows.net/hub4")
				g.Expect(m.Authorization).To(Equal("Bearer " + jwt))
				eventHubsRequest(g, m, name)
				// The token is used as is: nothing asked Entra.
				g.Expect(cloud.Calls()).NotTo(ContainElement(HavePrefix("entra:")))
			}},
		{name: "eventhub-jwt-expired", spec: notificationv1.ProviderSpec{Type: "azureeventhub", Address: "hub7", Channel: "ns2",
			SecretRef: &meta.LocalObjectReference{Name: "jwt-expired"}},
			warning:   dispatchFailed("eventhub-jwt-expired", "azureeventhub", "the service answered 401 Unauthorized"),
			noMessage: "ns2.servicebus.windows.net/hub7"},
		{name: "eventhub-jwt-audience", spec: notificationv1.ProviderSpec{Type: "azureeventhub", Address: "hub8", Channel: "ns2",
			SecretRef: &meta.LocalObjectReference{Name: "jwt-audience"}},
			warning:   dispatchFailed("eventhub-jwt-audience", "azureeventhub", "the service answered 401 Unauthorized"),
			noMessage: "ns2.servicebus.windows.net/hub8"},
		{name: "eventhub-sas", spec: notificationv1.ProviderSpec{Type: "azureeventhub", SecretRef: &meta.LocalObjectReference{Name: "sas"}},
			check: func(g Gomega, name string) {
				m := message(g, "eventhubs", "sasns2.servicebus.windows.net/hub5")
				// SharedAccessSignature sr=<URL-encoded resource URI>&sig=
				// <URL-encoded base64 HMAC-SHA256 of "sr\nse" under the
				// key>&se=<expiry, Unix seconds>&skn=<key name>.
				resource := url.QueryEscape("https://sasns2.servicebus.windows.net/hub5")
				q, err := url.ParseQuery(m.Authorization[len("SharedAccessSignature "):])
				g.Expect(err).NotTo(HaveOccurred())
				se, err := strconv.ParseInt(q.Get("se"), 10, 64)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(time.Unix(se, 0)).To(BeTemporally("~", time.Now().Add(time.Hour), 5*time.Minute))
				mac := hmac.New(sha256.New, []byte(testserver.CloudEventHubsKey))
				mac.Write([]byte(resource + "\n" + q.Get("se")))
				sig := url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
				g.Expect(m.Authorization).To(Equal("SharedAccessSignature sr=" + resource + "&sig=" + sig + "&se=" + q.Get("se") +
					"&skn=" + testserver.CloudEventHubsKeyName))
				eventHubsRequest(g, m, name)
			}},
		{name: "eventhub-sas-wrong-key", spec: notificationv1.ProviderSpec{Type: "azureeventhub", SecretRef: &meta.LocalObjectReference{Name: "sas-wrongkey"}},
			warning:   dispatchFailed("eventhub-sas-wrong-key", "azureeventhub", "the service answered 401 Unauthorized"),
			noMessage: "sasns2.servicebus.windows.net/hub6"},
		{name: "eventhub-sas-no-hub", spec: notificationv1.ProviderSpec{Type: "azureeventhub", SecretRef: &meta.LocalObjectReference{Name: "sas-nohub"}},
			warning: "InvalidConfig: provider eventhub-sas-no-hub: azureeventhub provider: the connection string needs SharedAccessKeyName, SharedAccessKey and EntityPath"},
	}
	for _, tc := range cases {
		h.create(t, provider(ns, tc.name, tc.spec.Type, tc.spec))
		h.create(t, &notificationv1.Alert{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tc.name},
			Spec: notificationv1.AlertSpec{ProviderRef: meta.LocalObjectReference{Name: tc.name},
				EventSources: []notificationv1.CrossNamespaceObjectReference{{Kind: "Kustomization", Name: tc.name}}}})
		g.Expect(h.postEvent(t, newEvent("Kustomization", tc.name, ns, "error", "Health check failed"))).To(Equal(http.StatusAccepted))
	}
	h.drain(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			expectOutcome(g, ns, tc.name, tc.check, tc.warning)
			if tc.check == nil && tc.noMessage != "" {
				g.Expect(cloud.Messages()).NotTo(ContainElement(HaveField("Target", tc.noMessage)))
			}
		})
	}
}
