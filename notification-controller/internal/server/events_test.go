package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	"github.com/fluxcd/pkg/apis/meta"
	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	notificationv1 "gotk.dev/pkg/apis/notification/v1beta3"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testserver"
)

// seedAlert is the seed's deployment-alerts Alert in ns.
func seedAlert(ns string) *notificationv1.Alert {
	return &notificationv1.Alert{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deployment-alerts"},
		Spec: notificationv1.AlertSpec{
			ProviderRef:   meta.LocalObjectReference{Name: "slack"},
			EventSeverity: "info",
			EventSources: []notificationv1.CrossNamespaceObjectReference{
				{Kind: "Kustomization", Name: "*"}, {Kind: "HelmRelease", Name: "*"},
			},
			ExclusionList: []string{".*upgrade.*"},
		},
	}
}

// warnings returns the messages of warning events recorded on the object.
func warnings(g Gomega, ns, name string) []string {
	var list corev1.EventList
	g.Expect(env.Client.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.InvolvedObject.Name == name && e.Type == corev1.EventTypeWarning {
			out = append(out, e.Reason+": "+e.Message)
		}
	}
	return out
}

// TestSeedAlertToSlack: a Kustomization failure reaches Slack with the
// message as text and the error colour; the seed's exclusion list drops a
// Helm upgrade message.
func TestSeedAlertToSlack(t *testing.T) {
	g := NewWithT(t)
	h := start(t)
	ns := env.NewNamespace(t)
	sink := testserver.NewWebhookSinkForTest(t)

	h.create(t, secret(ns, "slack-webhook", map[string]string{"address": sink.URL() + "/services/T0/B0/secret"}))
	h.create(t, provider(ns, "slack", "slack", notificationv1.ProviderSpec{Channel: "deployments",
		SecretRef: &meta.LocalObjectReference{Name: "slack-webhook"}}))
	h.create(t, seedAlert(ns))

	ev := newEvent("Kustomization", "apps", ns, "error", "Health check failed after 2m0s: timeout waiting for: [Deployment/apps/podinfo status: 'InProgress']")
	ev.Reason = "HealthCheckFailed"
	ev.Metadata = map[string]string{"kustomize.toolkit.fluxcd.io/revision": "main@sha1:0123456789abcdef0123456789abcdef01234567"}
	g.Expect(h.postEvent(t, ev)).To(Equal(http.StatusAccepted))

	reqs := sink.WaitFor(t, 1, 10*time.Second)
	g.Expect(reqs[0].Path).To(Equal("/services/T0/B0/secret"))
	g.Expect(testserver.SlackMessage(reqs[0].Body)).To(Succeed())
	var msg struct {
		Channel     string `json:"channel"`
		Attachments []struct {
			Color, Text string
			AuthorName  string `json:"author_name"`
			Fields      []struct{ Title, Value string }
		} `json:"attachments"`
	}
	g.Expect(reqs[0].JSON(&msg)).To(Succeed())
	g.Expect(msg.Channel).To(Equal("deployments"))
	g.Expect(msg.Attachments).To(HaveLen(1))
	g.Expect(msg.Attachments[0].Color).To(Equal("danger"))
	g.Expect(msg.Attachments[0].Text).To(Equal(ev.Message))
	g.Expect(msg.Attachments[0].AuthorName).To(Equal("kustomization/apps." + ns))
	g.Expect(msg.Attachments[0].Fields).To(ContainElement(HaveField("Title", "revision")))

	// The exclusion list drops the upgrade; a later info event still goes.
	up := newEvent("HelmRelease", "podinfo", ns, "info", "Helm upgrade succeeded for release apps/podinfo.v2 with chart podinfo@6.5.0")
	g.Expect(h.postEvent(t, up)).To(Equal(http.StatusAccepted))
	h.drain(t)
	g.Expect(sink.Requests()).To(HaveLen(1))

	ok := newEvent("HelmRelease", "podinfo", ns, "info", "Helm install succeeded for release apps/podinfo.v1")
	g.Expect(h.postEvent(t, ok)).To(Equal(http.StatusAccepted))
	reqs = sink.WaitFor(t, 2, 10*time.Second)
	g.Expect(string(reqs[1].Body)).To(ContainSubstring(`"color":"good"`))
	g.Expect(string(reqs[1].Body)).To(ContainSubstring("Helm install succeeded"))
}

// TestWildcardAndMatchLabels: `*` with matchLabels reads the object's
// labels; a named source matches only its object; error Alerts skip info.
func TestWildcardAndMatchLabels(t *testing.T) {
	g := NewWithT(t)
	h := start(t)
	ns := env.NewNamespace(t)
	sink := testserver.NewWebhookSinkForTest(t)
	for name, labels := range map[string]map[string]string{"team-a": {"team": "a"}, "team-b": {"team": "b"}} {
		h.create(t, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
			Spec: sourcev1.GitRepositorySpec{URL: "https://example.com/x", Interval: metav1.Duration{Duration: time.Hour}}})
	}
	h.create(t, provider(ns, "hook", "generic", notificationv1.ProviderSpec{Address: sink.URL() + "/generic"}))
	h.create(t, &notificationv1.Alert{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "team-a"},
		Spec: notificationv1.AlertSpec{ProviderRef: meta.LocalObjectReference{Name: "hook"},
			EventSources: []notificationv1.CrossNamespaceObjectReference{
				{Kind: "GitRepository", Name: "*", MatchLabels: map[string]string{"team": "a"}},
				{Kind: "Kustomization", Name: "infra"},
			}}})
	h.create(t, &notificationv1.Alert{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "errors-only"},
		Spec: notificationv1.AlertSpec{ProviderRef: meta.LocalObjectReference{Name: "hook"}, EventSeverity: "error",
			EventMetadata: map[string]string{"cluster": "prod", "revision": "must-not-win"}, Summary: "errors of everything",
			EventSources: []notificationv1.CrossNamespaceObjectReference{{Kind: "HelmRelease", Name: "*"}}}})

	for _, ev := range []eventv1.Event{
		newEvent("GitRepository", "team-a", ns, "info", "stored artifact a"),
		newEvent("GitRepository", "team-b", ns, "info", "stored artifact b"),
		newEvent("Kustomization", "infra", ns, "info", "applied infra"),
		newEvent("Kustomization", "apps", ns, "info", "applied apps"),
		newEvent("HelmRelease", "web", ns, "info", "installed web"),
	} {
		g.Expect(h.postEvent(t, ev)).To(Equal(http.StatusAccepted))
	}
	failed := newEvent("HelmRelease", "web", ns, "error", "upgrade of web failed")
	failed.Metadata = map[string]string{
		"helm.toolkit.fluxcd.io/revision": "1.2.3", "source.toolkit.fluxcd.io/revision": "dropped",
		"event.toolkit.fluxcd.io/team": "web-team", "other": "dropped",
	}
	g.Expect(h.postEvent(t, failed)).To(Equal(http.StatusAccepted))
	h.drain(t)

	var got []string
	var helm eventv1.Event
	for _, r := range sink.Requests() {
		var ev eventv1.Event
		g.Expect(r.JSON(&ev)).To(Succeed())
		got = append(got, ev.Message)
		if ev.InvolvedObject.Kind == "HelmRelease" {
			helm = ev
		}
	}
	g.Expect(got).To(ConsistOf("stored artifact a", "applied infra", "upgrade of web failed"))
	g.Expect(helm.Metadata).To(Equal(map[string]string{
		"revision": "1.2.3", "team": "web-team", "cluster": "prod", "summary": "errors of everything",
	}))
}

// TestDuplicateRateLimited: the same event twice within the interval is
// answered 429 and delivered once; a new revision is news again.
func TestDuplicateRateLimited(t *testing.T) {
	g := NewWithT(t)
	h := start(t)
	ns := env.NewNamespace(t)
	sink := testserver.NewWebhookSinkForTest(t)
	h.create(t, provider(ns, "hook", "generic", notificationv1.ProviderSpec{Address: sink.URL()}))
	h.create(t, &notificationv1.Alert{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "all"},
		Spec: notificationv1.AlertSpec{ProviderRef: meta.LocalObjectReference{Name: "hook"},
			EventSources: []notificationv1.CrossNamespaceObjectReference{{Kind: "Kustomization", Name: "*"}}}})

	ev := newEvent("Kustomization", "apps", ns, "info", "Reconciliation finished")
	ev.Metadata = map[string]string{"kustomize.toolkit.fluxcd.io/revision": "main@sha1:aaaa"}
	g.Expect(h.postEvent(t, ev)).To(Equal(http.StatusAccepted))
	g.Expect(h.postEvent(t, ev)).To(Equal(http.StatusTooManyRequests))
	ev.Metadata["kustomize.toolkit.fluxcd.io/revision"] = "main@sha1:bbbb"
	g.Expect(h.postEvent(t, ev)).To(Equal(http.StatusAccepted))
	h.drain(t)
	g.Expect(sink.Requests()).To(HaveLen(2))
}

// TestProviderDown: a sink answering 500 gets every bounded attempt, then
// the Alert carries a warning event and the failure metric rises.
func TestProviderDown(t *testing.T) {
	g := NewWithT(t)
	h := start(t)
	ns := env.NewNamespace(t)
	sink := testserver.NewWebhookSinkForTest(t)
	sink.SetStatus(http.StatusInternalServerError, "boom")
	h.create(t, secret(ns, "hook", map[string]string{"address": sink.URL() + "/token-in-path-s3cr3t"}))
	h.create(t, provider(ns, "hook", "generic", notificationv1.ProviderSpec{SecretRef: &meta.LocalObjectReference{Name: "hook"}}))
	h.create(t, &notificationv1.Alert{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "down"},
		Spec: notificationv1.AlertSpec{ProviderRef: meta.LocalObjectReference{Name: "hook"},
			EventSources: []notificationv1.CrossNamespaceObjectReference{{Kind: "Kustomization", Name: "apps"}}}})

	before := testutil.ToFloat64(deliveriesTotal.WithLabelValues("generic", "failure"))
	g.Expect(h.postEvent(t, newEvent("Kustomization", "apps", ns, "error", "apply failed"))).To(Equal(http.StatusAccepted))
	h.drain(t)
	g.Expect(sink.Requests()).To(HaveLen(testRetry.Attempts))
	g.Expect(testutil.ToFloat64(deliveriesTotal.WithLabelValues("generic", "failure"))).To(Equal(before + 1))
	g.Eventually(func(g Gomega) {
		w := warnings(g, ns, "down")
		g.Expect(w).To(ContainElement(And(HavePrefix("NotificationDispatchFailed: "), ContainSubstring("500 Internal Server Error"))))
		g.Expect(strings.Join(w, "\n")).NotTo(ContainSubstring("s3cr3t"))
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())

	// Nothing the server logs about the failure carries the Secret's
	// address (which holds a token in its path).
	var logs strings.Builder
	quiet := &EventServer{Client: h.client, APIReader: env.Client, Retry: testRetry,
		Log: funcr.New(func(prefix, args string) { logs.WriteString(prefix + args + "\n") }, funcr.Options{Verbosity: 4})}
	quiet.init()
	ev := newEvent("Kustomization", "apps", ns, "error", "apply failed once more")
	quiet.dispatch(context.Background(), &ev)
	g.Expect(logs.String()).To(ContainSubstring("NotificationDispatchFailed"))
	g.Expect(logs.String()).NotTo(ContainSubstring("s3cr3t"))

	// The endpoint recovers: the next event goes through.
	sink.Reset()
	sink.SetStatus(http.StatusOK, "ok")
	g.Expect(h.postEvent(t, newEvent("Kustomization", "apps", ns, "error", "apply failed again"))).To(Equal(http.StatusAccepted))
	sink.WaitFor(t, 1, 10*time.Second)
}

// TestGenericHMAC: the sink's recorded body verifies against the token.
func TestGenericHMAC(t *testing.T) {
	g := NewWithT(t)
	h := start(t)
	ns := env.NewNamespace(t)
	sink := testserver.NewWebhookSinkForTest(t)
	h.create(t, secret(ns, "hmac", map[string]string{"token": "hmac-key", "headers": "X-Env: staging\n"}))
	h.create(t, provider(ns, "signed", "generic-hmac", notificationv1.ProviderSpec{Address: sink.URL() + "/signed",
		SecretRef: &meta.LocalObjectReference{Name: "hmac"}}))
	h.create(t, &notificationv1.Alert{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "signed"},
		Spec: notificationv1.AlertSpec{ProviderRef: meta.LocalObjectReference{Name: "signed"},
			EventSources: []notificationv1.CrossNamespaceObjectReference{{Kind: "Kustomization", Name: "*"}}}})
	g.Expect(h.postEvent(t, newEvent("Kustomization", "apps", ns, "info", "applied"))).To(Equal(http.StatusAccepted))

	r := sink.WaitFor(t, 1, 10*time.Second)[0]
	mac := hmac.New(sha256.New, []byte("hmac-key"))
	mac.Write(r.Body)
	g.Expect(r.Header.Get("X-Signature")).To(Equal("sha256=" + hex.EncodeToString(mac.Sum(nil))))
	g.Expect(r.Header.Get("X-Env")).To(Equal("staging"))
	g.Expect(r.Header.Get("gotk-component")).To(Equal("kustomize-controller"))
}

// TestProviderProblems: an incomplete Provider (PagerDuty without its
// routing key), a missing Secret and a commitStatusExpr that does not
// compile are warning events on the Alert.
func TestProviderProblems(t *testing.T) {
	g := NewWithT(t)
	h := start(t)
	ns := env.NewNamespace(t)
	h.create(t, provider(ns, "pd", "pagerduty", notificationv1.ProviderSpec{}))
	h.create(t, provider(ns, "nosecret", "slack", notificationv1.ProviderSpec{SecretRef: &meta.LocalObjectReference{Name: "absent"}}))
	h.create(t, provider(ns, "cel", "github", notificationv1.ProviderSpec{Address: "https://github.com/org/app",
		CommitStatusExpr: "event.metadata.id +"}))
	for _, p := range []string{"pd", "nosecret", "cel"} {
		h.create(t, &notificationv1.Alert{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: p},
			Spec: notificationv1.AlertSpec{ProviderRef: meta.LocalObjectReference{Name: p},
				EventSources: []notificationv1.CrossNamespaceObjectReference{{Kind: "Kustomization", Name: "*"}}}})
	}
	g.Expect(h.postEvent(t, newEvent("Kustomization", "apps", ns, "error", "failed"))).To(Equal(http.StatusAccepted))
	h.drain(t)
	g.Eventually(func(g Gomega) {
		g.Expect(warnings(g, ns, "pd")).To(ContainElement(And(HavePrefix("InvalidConfig: "), ContainSubstring("spec.channel (the integration routing key) is required"))))
		g.Expect(warnings(g, ns, "nosecret")).To(ContainElement(And(HavePrefix("InvalidConfig: "), ContainSubstring("reading secret absent"))))
		g.Expect(warnings(g, ns, "cel")).To(ContainElement(HavePrefix("InvalidConfig: provider cel: spec.commitStatusExpr does not compile")))
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
}

// TestNoCrossNamespaceRefs: an Alert selecting another namespace works
// unless cross-namespace references are disabled.
func TestNoCrossNamespaceRefs(t *testing.T) {
	g := NewWithT(t)
	h := start(t)
	alertNS, appNS := env.NewNamespace(t), env.NewNamespace(t)
	sink := testserver.NewWebhookSinkForTest(t)
	h.create(t, provider(alertNS, "hook", "generic", notificationv1.ProviderSpec{Address: sink.URL()}))
	h.create(t, &notificationv1.Alert{ObjectMeta: metav1.ObjectMeta{Namespace: alertNS, Name: "cross"},
		Spec: notificationv1.AlertSpec{ProviderRef: meta.LocalObjectReference{Name: "hook"},
			EventSources: []notificationv1.CrossNamespaceObjectReference{{Kind: "Kustomization", Name: "*", Namespace: appNS}}}})

	g.Expect(h.postEvent(t, newEvent("Kustomization", "apps", appNS, "info", "allowed across"))).To(Equal(http.StatusAccepted))
	sink.WaitFor(t, 1, 10*time.Second)

	strict := &EventServer{Client: h.client, APIReader: env.Client, NoCrossNamespaceRefs: true, Retry: testRetry, Log: h.events.Log}
	ev := newEvent("Kustomization", "apps", appNS, "info", "refused across")
	strict.init()
	strict.dispatch(context.Background(), &ev)
	g.Expect(sink.Requests()).To(HaveLen(1))
}

// TestIngestValidation: bad payloads get 400, other methods 405.
func TestIngestValidation(t *testing.T) {
	g := NewWithT(t)
	h := start(t)
	unknown := newEvent("Kustomization", "apps", "default", "info", "x")
	unknown.InvolvedObject.Kind = "Pod"
	body, _ := json.Marshal(unknown)
	for name, b := range map[string][]byte{
		"not json":     []byte("{"),
		"unknown kind": body,
		"no message":   []byte(`{"involvedObject":{"kind":"Kustomization","name":"a","namespace":"b","apiVersion":"kustomize.toolkit.fluxcd.io/v1"},"severity":"info","reason":"r","reportingController":"c"}`),
		"oversized":    []byte(`{"message":"` + strings.Repeat("x", 600<<10) + `"}`),
	} {
		g.Expect(h.post(t, h.eventsURL+"/", b, nil)).To(Equal(http.StatusBadRequest), name)
	}
	resp, err := h.http.Get(h.eventsURL + "/")
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusMethodNotAllowed))
}
