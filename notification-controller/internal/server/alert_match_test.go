package server

import (
	"testing"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	notificationv1 "gotk.dev/pkg/apis/notification/v1beta3"
)

func TestMatchSource(t *testing.T) {
	ev := newEvent("Kustomization", "apps", "team", "info", "m")
	type src = notificationv1.CrossNamespaceObjectReference
	tests := []struct {
		name    string
		src     src
		alertNS string
		noCross bool
		want    sourceMatch
	}{
		{"name", src{Kind: "Kustomization", Name: "apps"}, "team", false, matched},
		{"other name", src{Kind: "Kustomization", Name: "infra"}, "team", false, noMatch},
		{"other kind", src{Kind: "HelmRelease", Name: "*"}, "team", false, noMatch},
		{"wildcard", src{Kind: "Kustomization", Name: "*"}, "team", false, matched},
		{"wildcard with labels", src{Kind: "Kustomization", Name: "*", MatchLabels: map[string]string{"a": "b"}}, "team", false, needsLabels},
		{"labels ignored for a name", src{Kind: "Kustomization", Name: "apps", MatchLabels: map[string]string{"a": "b"}}, "team", false, matched},
		{"defaults to the Alert's namespace", src{Kind: "Kustomization", Name: "*"}, "other", false, noMatch},
		{"explicit namespace", src{Kind: "Kustomization", Name: "*", Namespace: "team"}, "other", false, matched},
		{"all namespaces", src{Kind: "Kustomization", Name: "*", Namespace: "*"}, "other", false, matched},
		{"cross namespace refused", src{Kind: "Kustomization", Name: "*", Namespace: "team"}, "other", true, crossNamespace},
		{"all namespaces refused", src{Kind: "Kustomization", Name: "*", Namespace: "*"}, "other", true, crossNamespace},
		{"same namespace with refs off", src{Kind: "Kustomization", Name: "apps"}, "team", true, matched},
		{"apiVersion", src{Kind: "Kustomization", Name: "apps", APIVersion: "kustomize.toolkit.fluxcd.io/v1"}, "team", false, matched},
		{"other apiVersion", src{Kind: "Kustomization", Name: "apps", APIVersion: "kustomize.toolkit.fluxcd.io/v1beta2"}, "team", false, noMatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := matchSource(tt.src, tt.alertNS, &ev, tt.noCross); got != tt.want {
				t.Fatalf("matchSource() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestMessageAllowed(t *testing.T) {
	var c regexCache
	tests := []struct {
		name       string
		incl, excl []string
		msg        string
		want       bool
		wantErr    bool
	}{
		{name: "no lists", msg: "anything", want: true},
		{name: "seed exclusion", excl: []string{".*upgrade.*"}, msg: "Helm upgrade succeeded", want: false},
		{name: "seed exclusion passes others", excl: []string{".*upgrade.*"}, msg: "Helm install succeeded", want: true},
		{name: "inclusion", incl: []string{"^Applied"}, msg: "Applied revision", want: true},
		{name: "not included", incl: []string{"^Applied"}, msg: "Health check failed", want: false},
		{name: "included then excluded", incl: []string{"revision"}, excl: []string{"main@"}, msg: "Applied revision main@sha1:x", want: false},
		{name: "invalid inclusion", incl: []string{"("}, msg: "x", wantErr: true},
		{name: "invalid exclusion", excl: []string{"[z-a]"}, msg: "x", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &notificationv1.Alert{Spec: notificationv1.AlertSpec{InclusionList: tt.incl, ExclusionList: tt.excl}}
			got, err := c.messageAllowed(a, tt.msg)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("messageAllowed() = %v, %v; want %v, err %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestSeverityAndEnrich(t *testing.T) {
	info, errEv := newEvent("Kustomization", "a", "n", "info", "m"), newEvent("Kustomization", "a", "n", "error", "m")
	errAlert := &notificationv1.Alert{Spec: notificationv1.AlertSpec{EventSeverity: "error"}}
	infoAlert := &notificationv1.Alert{ObjectMeta: metav1.ObjectMeta{Name: "x"}}
	if severityMatches(errAlert, &info) || !severityMatches(errAlert, &errEv) || !severityMatches(infoAlert, &info) {
		t.Fatal("severity filter is wrong")
	}
	ev := eventv1.Event{Metadata: map[string]string{"revision": "r1"}}
	a := &notificationv1.Alert{Spec: notificationv1.AlertSpec{Summary: "s", EventMetadata: map[string]string{"revision": "x", "env": "prod"}}}
	out := enrich(a, &ev)
	if out.Metadata["revision"] != "r1" || out.Metadata["env"] != "prod" || out.Metadata["summary"] != "s" {
		t.Fatalf("enrich() = %v", out.Metadata)
	}
	if len(ev.Metadata) != 1 {
		t.Fatal("enrich must not change the shared event")
	}
}
