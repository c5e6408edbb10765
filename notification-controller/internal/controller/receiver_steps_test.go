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
		{name: "unsupported type", mutate: func(r *notificationv1.Receiver) { r.Spec.Type = "acr" }, wantErr: `receiver type "acr" is not supported yet`},
		{name: "no secretRef", mutate: func(r *notificationv1.Receiver) { r.Spec.SecretRef = nil }, wantErr: "spec.secretRef is required"},
		{name: "no resources", mutate: func(r *notificationv1.Receiver) { r.Spec.Resources = nil }, wantErr: "spec.resources is empty"},
		{name: "entry filter", mutate: func(r *notificationv1.Receiver) { r.Spec.Resources[0].Filter = "true" },
			wantErr: "spec.resources[0].filter (CEL) is not supported yet"},
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
