package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	notificationv1 "gotk.dev/pkg/apis/notification/v1beta3"
	"gotk.dev/pkg/testserver"
)

// TestCommitStatus: GitHub and GitLab Providers pointed at the sink (the
// repository URL's host is the API host, as for self-hosted instances) get
// a status for the revision of a finished apply and of a failure, and
// nothing for progress events.
func TestCommitStatus(t *testing.T) {
	g := NewWithT(t)
	h := start(t)
	ns := env.NewNamespace(t)
	sink := testserver.NewWebhookSinkForTest(t)
	const sha = "0123456789abcdef0123456789abcdef01234567"
	h.create(t, secret(ns, "git-token", map[string]string{"token": "api-token"}))
	for _, typ := range []string{"github", "gitlab"} {
		h.create(t, provider(ns, typ, typ, notificationv1.ProviderSpec{Address: sink.URL() + "/org/app",
			SecretRef: &meta.LocalObjectReference{Name: "git-token"}}))
		h.create(t, &notificationv1.Alert{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: typ},
			Spec: notificationv1.AlertSpec{ProviderRef: meta.LocalObjectReference{Name: typ},
				EventSources: []notificationv1.CrossNamespaceObjectReference{{Kind: "Kustomization", Name: "apps"}}}})
	}
	progress := newEvent("Kustomization", "apps", ns, "info", "Reconciliation in progress")
	progress.Metadata = map[string]string{"kustomize.toolkit.fluxcd.io/revision": "main@sha1:" + sha}
	g.Expect(h.postEvent(t, progress)).To(Equal(http.StatusAccepted))
	h.drain(t)
	g.Expect(sink.Requests()).To(BeEmpty())

	done := newEvent("Kustomization", "apps", ns, "info", "Applied revision main@sha1:"+sha)
	done.Metadata = map[string]string{"kustomize.toolkit.fluxcd.io/revision": "main@sha1:" + sha,
		"kustomize.toolkit.fluxcd.io/commit_status": "update"}
	g.Expect(h.postEvent(t, done)).To(Equal(http.StatusAccepted))
	reqs := sink.WaitFor(t, 2, 10*time.Second)
	byPath := map[string]map[string]string{}
	for _, r := range reqs {
		var body map[string]string
		g.Expect(r.JSON(&body)).To(Succeed())
		byPath[r.Path] = body
	}
	g.Expect(byPath).To(HaveKey("/api/v3/repos/org/app/statuses/" + sha))
	g.Expect(byPath["/api/v3/repos/org/app/statuses/"+sha]["state"]).To(Equal("success"))
	g.Expect(byPath).To(HaveKey("/api/v4/projects/org/app/statuses/" + sha))
	g.Expect(byPath["/api/v4/projects/org/app/statuses/"+sha]["state"]).To(Equal("success"))

	failed := newEvent("Kustomization", "apps", ns, "error", "Health check failed")
	failed.Metadata = map[string]string{"kustomize.toolkit.fluxcd.io/revision": "main@sha1:" + sha}
	g.Expect(h.postEvent(t, failed)).To(Equal(http.StatusAccepted))
	reqs = sink.WaitFor(t, 4, 10*time.Second)
	states := []string{}
	for _, r := range reqs[2:] {
		var body map[string]string
		g.Expect(r.JSON(&body)).To(Succeed())
		states = append(states, body["state"])
	}
	g.Expect(states).To(ConsistOf("failure", "failed"))
}
