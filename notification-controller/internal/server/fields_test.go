package server

import (
	"net/http"
	"testing"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	notificationv1 "gotk.dev/pkg/apis/notification/v1beta3"
	"gotk.dev/pkg/testserver"
)

// TestAlertAndProviderFields: each case sets one Alert or Provider field
// on the API server, posts the same events and checks which of them reach
// the Provider's endpoint.
func TestAlertAndProviderFields(t *testing.T) {
	all := []notificationv1.CrossNamespaceObjectReference{{Kind: "Kustomization", Name: "*"}}
	tests := []struct {
		name     string
		alert    notificationv1.AlertSpec
		provider notificationv1.ProviderSpec
		want     []string // messages delivered, of the events below
	}{
		{name: "baseline", alert: notificationv1.AlertSpec{EventSources: all},
			want: []string{"Applied revision main@sha1:1", "Health check failed"}},
		{name: "alert suspend", alert: notificationv1.AlertSpec{EventSources: all, Suspend: true}},
		{name: "provider suspend", alert: notificationv1.AlertSpec{EventSources: all},
			provider: notificationv1.ProviderSpec{Suspend: true}},
		{name: "inclusionList", alert: notificationv1.AlertSpec{EventSources: all, InclusionList: []string{"^Applied"}},
			want: []string{"Applied revision main@sha1:1"}},
		{name: "eventSources apiVersion matches", alert: notificationv1.AlertSpec{EventSources: []notificationv1.CrossNamespaceObjectReference{
			{Kind: "Kustomization", Name: "*", APIVersion: "kustomize.toolkit.fluxcd.io/v1"}}},
			want: []string{"Applied revision main@sha1:1", "Health check failed"}},
		{name: "eventSources apiVersion differs", alert: notificationv1.AlertSpec{EventSources: []notificationv1.CrossNamespaceObjectReference{
			{Kind: "Kustomization", Name: "*", APIVersion: "kustomize.toolkit.fluxcd.io/v1beta2"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			h := start(t)
			ns := env.NewNamespace(t)
			sink := testserver.NewWebhookSinkForTest(t)
			tt.provider.Address = sink.URL()
			h.create(t, provider(ns, "hook", "generic", tt.provider))
			tt.alert.ProviderRef = meta.LocalObjectReference{Name: "hook"}
			h.create(t, &notificationv1.Alert{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "a"}, Spec: tt.alert})

			for _, ev := range []eventv1.Event{
				newEvent("Kustomization", "apps", ns, "info", "Applied revision main@sha1:1"),
				newEvent("Kustomization", "apps", ns, "error", "Health check failed"),
			} {
				g.Expect(h.postEvent(t, ev)).To(Equal(http.StatusAccepted))
			}
			h.drain(t)
			var got []string
			for _, r := range sink.Requests() {
				var ev eventv1.Event
				g.Expect(r.JSON(&ev)).To(Succeed())
				got = append(got, ev.Message)
			}
			if len(tt.want) == 0 {
				g.Expect(got).To(BeEmpty())
				return
			}
			g.Expect(got).To(ConsistOf(tt.want))
		})
	}
}
