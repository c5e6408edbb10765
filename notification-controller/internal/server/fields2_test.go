package server

import (
	"net/http"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	notificationv1 "gotk.dev/pkg/apis/notification/v1"
)

// TestReceiverResourceAPIVersion: spec.resources[].apiVersion picks the
// version the object is looked up in: a served version annotates it, a
// version the API server does not serve annotates nothing and fails the
// request, and an empty one falls back to the kind's default version.
func TestReceiverResourceAPIVersion(t *testing.T) {
	h := start(t)
	cases := []struct {
		name, apiVersion string
		status           int
		annotated        bool
	}{
		{name: "served version", apiVersion: "source.toolkit.fluxcd.io/v1", status: http.StatusOK, annotated: true},
		{name: "unserved version", apiVersion: "source.toolkit.fluxcd.io/v0alpha9", annotated: false},
		{name: "default version", apiVersion: "", status: http.StatusOK, annotated: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			ns := env.NewNamespace(t)
			h.create(t, secret(ns, "token", map[string]string{"token": "generic-token"}))
			h.create(t, gitRepo(ns, "app", nil))
			path := h.readyReceiver(t, &notificationv1.Receiver{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "generic"},
				Spec: notificationv1.ReceiverSpec{Type: "generic", SecretRef: &meta.LocalObjectReference{Name: "token"},
					Resources: []notificationv1.CrossNamespaceObjectReference{
						{APIVersion: tc.apiVersion, Kind: "GitRepository", Name: "app"}}}})
			status := h.post(t, h.receiverURL+path, []byte(`{}`), nil)
			if tc.annotated {
				g.Expect(status).To(Equal(tc.status))
				g.Expect(requestedAt(g, ns, "app")).NotTo(BeEmpty())
				return
			}
			t.Logf("status %d", status)
			g.Expect(status).NotTo(Equal(http.StatusOK))
			g.Expect(requestedAt(g, ns, "app")).To(BeEmpty())
		})
	}
}
