package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gotk.dev/pkg/testserver"

	notificationv1 "gotk.dev/pkg/apis/notification/v1beta3"
)

// TestCommitStatusExpr: the commit status carries the identifier the
// Provider's CEL expression gives over event, provider and alert; an
// expression that gives no string sends nothing and warns on the Alert.
func TestCommitStatusExpr(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name, expr string
		want       string // status context, "" when nothing may be sent
		warning    string
	}{
		{name: "ids", want: "kustomization/apps/ci/gh",
			expr: "(event.involvedObject.kind + '/' + event.involvedObject.name + '/' + alert.metadata.name + '/' + provider.metadata.name).lowerAscii()"},
		{name: "metadata", expr: "'flux/' + event.metadata.env", want: "flux/staging"},
		{name: "not a string", expr: "1 + 1", warning: "spec.commitStatusExpr must give a string, got int"},
		{name: "empty", expr: "''", warning: "spec.commitStatusExpr gave an empty commit status identifier"},
		{name: "missing key", expr: "event.metadata.absent", warning: "spec.commitStatusExpr: evaluating: no such key: absent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			h := start(t)
			ns := env.NewNamespace(t)
			sink := testserver.NewWebhookSinkForTest(t)
			h.create(t, secret(ns, "gh", map[string]string{"token": "ghp"}))
			h.create(t, provider(ns, "gh", "github", notificationv1.ProviderSpec{Address: sink.URL() + "/org/app",
				SecretRef: &meta.LocalObjectReference{Name: "gh"}, CommitStatusExpr: tt.expr}))
			h.create(t, &notificationv1.Alert{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ci"},
				Spec: notificationv1.AlertSpec{ProviderRef: meta.LocalObjectReference{Name: "gh"},
					EventSources: []notificationv1.CrossNamespaceObjectReference{{Kind: "Kustomization", Name: "*"}}}})
			ev := newEvent("Kustomization", "apps", ns, "error", "health check failed")
			// Emitters prefix metadata keys with the object's API group.
			ev.Metadata = map[string]string{"kustomize.toolkit.fluxcd.io/revision": "main@sha1:" + sha, "kustomize.toolkit.fluxcd.io/env": "staging"}
			g.Expect(h.postEvent(t, ev)).To(Equal(http.StatusAccepted))
			h.drain(t)
			if tt.want == "" {
				g.Eventually(func(g Gomega) {
					g.Expect(warnings(g, ns, "ci")).To(ContainElement("InvalidConfig: provider gh: " + tt.warning))
				}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
				g.Expect(sink.Requests()).To(BeEmpty())
				return
			}
			r := sink.WaitFor(t, 1, 10*time.Second)[0]
			g.Expect(r.Path).To(Equal("/api/v3/repos/org/app/statuses/" + sha))
			var p map[string]string
			g.Expect(r.JSON(&p)).To(Succeed())
			g.Expect(p).To(HaveKeyWithValue("context", tt.want))
			g.Expect(p).To(HaveKeyWithValue("state", "failure"))
		})
	}
}
