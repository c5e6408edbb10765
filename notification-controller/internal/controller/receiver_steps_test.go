package controller

import (
	"context"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"

	notificationv1 "gotk.dev/pkg/apis/notification/v1"
	"gotk.dev/pkg/runtime/reconcile"
)

func TestValidateStep(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*notificationv1.Receiver)
		noCross bool
		wantErr string
	}{
		{name: "valid github", mutate: func(*notificationv1.Receiver) {}},
		{name: "every supported type", mutate: func(r *notificationv1.Receiver) { r.Spec.Type = "cdevents" }},
		{name: "acr", mutate: func(r *notificationv1.Receiver) { r.Spec.Type = "acr" }},
		{name: "unsupported type", mutate: func(r *notificationv1.Receiver) { r.Spec.Type = "sourcehut" }, wantErr: `receiver type "sourcehut" is not supported yet`},
		{name: "generic-oidc without secretRef", mutate: func(r *notificationv1.Receiver) {
			r.Spec.Type, r.Spec.SecretRef = "generic-oidc", nil
			r.Spec.OIDCProviders = []notificationv1.OIDCProvider{{IssuerURL: "https://issuer.example.com",
				Variables:   []notificationv1.OIDCVariable{{Name: "repo", Expression: "claims.repository"}},
				Validations: []notificationv1.OIDCValidation{{Expression: "vars.repo == 'org/app'", Message: "no"}}}}
		}},
		{name: "generic-oidc without providers", mutate: func(r *notificationv1.Receiver) { r.Spec.Type, r.Spec.SecretRef = "generic-oidc", nil },
			wantErr: "spec.oidcProviders is required"},
		{name: "no secretRef", mutate: func(r *notificationv1.Receiver) { r.Spec.SecretRef = nil }, wantErr: "spec.secretRef is required"},
		{name: "no resources", mutate: func(r *notificationv1.Receiver) { r.Spec.Resources = nil }, wantErr: "spec.resources is empty"},
		{name: "entry filter", mutate: func(r *notificationv1.Receiver) { r.Spec.Resources[0].Filter = "res.metadata.name == 'app'" }},
		{name: "entry filter not a bool", mutate: func(r *notificationv1.Receiver) { r.Spec.Resources[0].Filter = "size(res.metadata.name)" },
			wantErr: "spec.resources[0].filter: does not compile"},
		{name: "unknown kind without apiVersion", mutate: func(r *notificationv1.Receiver) { r.Spec.Resources[0].Kind = "Widget" },
			wantErr: `spec.resources[0]: kind "Widget" needs an apiVersion`},
		{name: "bad apiVersion", mutate: func(r *notificationv1.Receiver) { r.Spec.Resources[0].APIVersion = "a/b/c" },
			wantErr: `apiVersion "a/b/c" is invalid`},
		{name: "cross namespace allowed", mutate: func(r *notificationv1.Receiver) { r.Spec.Resources[0].Namespace = "other" }},
		{name: "cross namespace refused", noCross: true, mutate: func(r *notificationv1.Receiver) { r.Spec.Resources[0].Namespace = "other" },
			wantErr: "spec.resources[0]: cannot use GitRepository other/app from namespace ns: cross-namespace references are disabled on this controller (--no-cross-namespace-refs)"},
		{name: "same namespace with refs off", noCross: true, mutate: func(r *notificationv1.Receiver) { r.Spec.Resources[0].Namespace = "ns" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := receiver("ns", "r", "github")
			tt.mutate(rcv)
			err := (&ReceiverReconciler{NoCrossNamespaceRefs: tt.noCross}).validate(context.Background(), rcv)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("validate() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !reconcile.IsStalling(err) {
				t.Fatalf("validate() = %v, want a stall containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestPublishPath(t *testing.T) {
	rcv := receiver("flux-system", "gh", "github")
	reason, msg, err := publishPath(rcv, "s3cr3t")
	want := rcv.GetWebhookPath("s3cr3t")
	if err != nil || reason != meta.SucceededReason || msg != "Receiver initialised for path: "+want || rcv.Status.WebhookPath != want {
		t.Fatalf("publishPath() = %s, %s, %v; path %s", reason, msg, err, rcv.Status.WebhookPath)
	}
}
