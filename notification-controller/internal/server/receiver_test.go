package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	notificationv1 "gotk.dev/pkg/apis/notification/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
)

const pushBody = `{"ref":"refs/heads/main","after":"0123456789abcdef0123456789abcdef01234567","repository":{"full_name":"org/app"}}`

func githubSig(token, body string) string {
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func gitRepo(ns, name string, labels map[string]string) *sourcev1.GitRepository {
	return &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: sourcev1.GitRepositorySpec{URL: "https://example.com/" + name, Interval: metav1.Duration{Duration: time.Hour}}}
}

// requestedAt returns the object's reconcile request annotation.
func requestedAt(g Gomega, ns, name string) string {
	obj := &sourcev1.GitRepository{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, obj)).To(Succeed())
	return obj.Annotations[meta.ReconcileRequestAnnotation]
}

// readyReceiver creates a Receiver and waits until the reconciler made it
// Ready and the server's cache has its path.
func (h *harness) readyReceiver(t testing.TB, rcv *notificationv1.Receiver) string {
	t.Helper()
	g := NewWithT(t)
	g.Expect(env.Client.Create(context.Background(), rcv)).To(Succeed())
	var path string
	g.Eventually(func(g Gomega) {
		got := &notificationv1.Receiver{}
		g.Expect(h.client.Get(context.Background(), client.ObjectKeyFromObject(rcv), got)).To(Succeed())
		g.Expect(conditions.IsReady(got)).To(BeTrue())
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		path = got.Status.WebhookPath
	}, 20*time.Second, 20*time.Millisecond).Should(Succeed())
	return path
}

// TestReceiverGitHub: a signed push annotates the GitRepository; a bad or
// missing signature is 401 and annotates nothing; a ping answers without
// annotating; an oversized body is 413; unknown paths are 404; a suspended
// Receiver is 503.
func TestReceiverGitHub(t *testing.T) {
	g := NewWithT(t)
	h := start(t)
	ns := env.NewNamespace(t)
	h.create(t, secret(ns, "webhook-token", map[string]string{"token": "gh-s3cr3t"}))
	h.create(t, gitRepo(ns, "app", nil))
	rcv := &notificationv1.Receiver{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "github"},
		Spec: notificationv1.ReceiverSpec{Type: "github", Events: []string{"push"},
			SecretRef: &meta.LocalObjectReference{Name: "webhook-token"},
			Resources: []notificationv1.CrossNamespaceObjectReference{{Kind: "GitRepository", Name: "app"}}}}
	path := h.readyReceiver(t, rcv)
	g.Expect(path).To(Equal(rcv.GetWebhookPath("gh-s3cr3t")))
	url := h.receiverURL + path

	// Bad and missing signatures: 401, nothing annotated.
	g.Expect(h.post(t, url, []byte(pushBody), map[string]string{"X-GitHub-Event": "push",
		"X-Hub-Signature-256": githubSig("wrong", pushBody)})).To(Equal(http.StatusUnauthorized))
	g.Expect(h.post(t, url, []byte(pushBody), map[string]string{"X-GitHub-Event": "push"})).To(Equal(http.StatusUnauthorized))
	g.Expect(requestedAt(g, ns, "app")).To(BeEmpty())

	// A ping is answered and annotates nothing.
	g.Expect(h.post(t, url, []byte(pushBody), map[string]string{"X-GitHub-Event": "ping",
		"X-Hub-Signature-256": githubSig("gh-s3cr3t", pushBody)})).To(Equal(http.StatusOK))
	g.Expect(requestedAt(g, ns, "app")).To(BeEmpty())

	// A valid push annotates the GitRepository before the answer.
	g.Expect(h.post(t, url, []byte(pushBody), map[string]string{"X-GitHub-Event": "push",
		"X-Hub-Signature-256": githubSig("gh-s3cr3t", pushBody)})).To(Equal(http.StatusOK))
	first := requestedAt(g, ns, "app")
	g.Expect(first).NotTo(BeEmpty())

	// Oversized: 413.
	big := bytes.Repeat([]byte("x"), MaxWebhookBody+1)
	g.Expect(h.post(t, url, big, map[string]string{"X-GitHub-Event": "push",
		"X-Hub-Signature-256": githubSig("gh-s3cr3t", string(big))})).To(Equal(http.StatusRequestEntityTooLarge))

	// Unknown paths.
	g.Expect(h.post(t, h.receiverURL+"/hook/0000", []byte(pushBody), nil)).To(Equal(http.StatusNotFound))
	g.Expect(h.post(t, h.receiverURL+"/other", []byte(pushBody), nil)).To(Equal(http.StatusNotFound))

	// Suspended: 503 once the cache sees it.
	got := &notificationv1.Receiver{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(rcv), got)).To(Succeed())
	got.Spec.Suspend = true
	g.Expect(env.Client.Update(context.Background(), got)).To(Succeed())
	g.Eventually(func(g Gomega) {
		cached := &notificationv1.Receiver{}
		g.Expect(h.client.Get(context.Background(), client.ObjectKeyFromObject(rcv), cached)).To(Succeed())
		g.Expect(cached.Spec.Suspend).To(BeTrue())
	}, 10*time.Second, 20*time.Millisecond).Should(Succeed())
	g.Expect(h.post(t, url, []byte(pushBody), map[string]string{"X-GitHub-Event": "push",
		"X-Hub-Signature-256": githubSig("gh-s3cr3t", pushBody)})).To(Equal(http.StatusServiceUnavailable))
	g.Expect(requestedAt(g, ns, "app")).To(Equal(first))
}

// TestReceiverWildcard: `*` with matchLabels annotates exactly the
// labelled objects; a named object in another namespace is annotated too.
func TestReceiverWildcard(t *testing.T) {
	g := NewWithT(t)
	h := start(t)
	ns, other := env.NewNamespace(t), env.NewNamespace(t)
	h.create(t, secret(ns, "token", map[string]string{"token": "generic-token"}))
	h.create(t, gitRepo(ns, "a1", map[string]string{"team": "a"}))
	h.create(t, gitRepo(ns, "a2", map[string]string{"team": "a"}))
	h.create(t, gitRepo(ns, "b1", map[string]string{"team": "b"}))
	h.create(t, gitRepo(other, "shared", nil))
	path := h.readyReceiver(t, &notificationv1.Receiver{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "generic"},
		Spec: notificationv1.ReceiverSpec{Type: "generic", SecretRef: &meta.LocalObjectReference{Name: "token"},
			Resources: []notificationv1.CrossNamespaceObjectReference{
				{Kind: "GitRepository", Name: "*", MatchLabels: map[string]string{"team": "a"}},
				{Kind: "GitRepository", Name: "shared", Namespace: other},
			}}})
	g.Expect(h.post(t, h.receiverURL+path, []byte(`{}`), nil)).To(Equal(http.StatusOK))
	g.Expect(requestedAt(g, ns, "a1")).NotTo(BeEmpty())
	g.Expect(requestedAt(g, ns, "a2")).NotTo(BeEmpty())
	g.Expect(requestedAt(g, ns, "b1")).To(BeEmpty())
	g.Expect(requestedAt(g, other, "shared")).NotTo(BeEmpty())
}

// TestReceiverTokenRotation: after the token changes, the old path stops
// working and the new path takes signatures made with the new token.
func TestReceiverTokenRotation(t *testing.T) {
	g := NewWithT(t)
	h := start(t)
	ns := env.NewNamespace(t)
	tok := secret(ns, "token", map[string]string{"token": "old-token"})
	h.create(t, tok)
	h.create(t, gitRepo(ns, "app", nil))
	rcv := &notificationv1.Receiver{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "rotating"},
		Spec: notificationv1.ReceiverSpec{Type: "generic-hmac", SecretRef: &meta.LocalObjectReference{Name: "token"},
			Resources: []notificationv1.CrossNamespaceObjectReference{{Kind: "GitRepository", Name: "app"}}}}
	oldPath := h.readyReceiver(t, rcv)
	sig := func(token string) map[string]string {
		return map[string]string{"X-Signature": githubSig(token, pushBody)}
	}
	g.Expect(h.post(t, h.receiverURL+oldPath, []byte(pushBody), sig("old-token"))).To(Equal(http.StatusOK))

	tok.StringData = map[string]string{"token": "new-token"}
	g.Expect(env.Client.Update(context.Background(), tok)).To(Succeed())
	newPath := rcv.GetWebhookPath("new-token")
	g.Eventually(func() int {
		return h.post(t, h.receiverURL+newPath, []byte(pushBody), sig("new-token"))
	}, 20*time.Second, 20*time.Millisecond).Should(Equal(http.StatusOK))
	g.Expect(h.post(t, h.receiverURL+oldPath, []byte(pushBody), sig("old-token"))).To(Equal(http.StatusNotFound))
	g.Expect(h.post(t, h.receiverURL+newPath, []byte(pushBody), sig("old-token"))).To(Equal(http.StatusUnauthorized))
}
