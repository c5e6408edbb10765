package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/acl"
	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	notificationv1 "gotk.dev/pkg/apis/notification/v1"
)

func receiver(ns, name, typ string) *notificationv1.Receiver {
	return &notificationv1.Receiver{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: notificationv1.ReceiverSpec{Type: typ, SecretRef: &meta.LocalObjectReference{Name: "token"},
			Resources: []notificationv1.CrossNamespaceObjectReference{{Kind: "GitRepository", Name: "app"}}}}
}

// TestReceiverLifecycle: without its Secret a Receiver waits with
// TokenNotFound; the Secret appearing (through the Secret watch) makes it
// Ready with the published path; a rotated token moves the path.
func TestReceiverLifecycle(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	rcv := receiver(ns, "github", "github")
	g.Expect(env.Client.Create(ctx, rcv)).To(Succeed())
	key := client.ObjectKeyFromObject(rcv)
	get := func(g Gomega) *notificationv1.Receiver {
		out := &notificationv1.Receiver{}
		g.Expect(env.Client.Get(ctx, key, out)).To(Succeed())
		return out
	}

	g.Eventually(func(g Gomega) {
		got := get(g)
		g.Expect(conditions.GetReason(got, meta.ReadyCondition)).To(Equal(notificationv1.TokenNotFoundReason))
		g.Expect(conditions.GetMessage(got, meta.ReadyCondition)).To(Equal(`secret "token" not found`))
		g.Expect(conditions.IsReconciling(got)).To(BeTrue())
		g.Expect(got.Status.WebhookPath).To(BeEmpty())
	}, 20*time.Second, 50*time.Millisecond).Should(Succeed())

	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "token"}, StringData: map[string]string{"token": "one"}}
	g.Expect(env.Client.Create(ctx, sec)).To(Succeed())
	want := rcv.GetWebhookPath("one")
	g.Eventually(func(g Gomega) {
		got := get(g)
		g.Expect(conditions.IsReady(got)).To(BeTrue())
		g.Expect(conditions.GetMessage(got, meta.ReadyCondition)).To(Equal("Receiver initialised for path: " + want))
		g.Expect(got.Status.WebhookPath).To(Equal(want))
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		g.Expect(conditions.IsReconciling(got)).To(BeFalse())
	}, 20*time.Second, 50*time.Millisecond).Should(Succeed())

	sec.StringData = map[string]string{"token": "two"}
	g.Expect(env.Client.Update(ctx, sec)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(get(g).Status.WebhookPath).To(Equal(rcv.GetWebhookPath("two")))
	}, 20*time.Second, 50*time.Millisecond).Should(Succeed())
	// The token never appears in the status.
	g.Expect(conditions.GetMessage(get(g), meta.ReadyCondition)).NotTo(ContainSubstring("two"))
}

// TestReceiverValidation: specs that cannot work (CEL that does not
// compile or does not give a bool, cross-namespace resources when those
// are off) stall with a precise message and no webhook path.
func TestReceiverValidation(t *testing.T) {
	ctx := context.Background()
	ns := env.NewNamespace(t)
	g := NewWithT(t)
	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "token"},
		StringData: map[string]string{"token": "t"}})).To(Succeed())

	filtered := receiver(ns, "cel", "generic")
	filtered.Spec.ResourceFilter = "res.metadata.name =="
	typed := receiver(ns, "cel-type", "generic")
	typed.Spec.ResourceFilter = "'a string'"
	entry := receiver(ns, "cel-entry", "generic")
	entry.Spec.Resources[0].Filter = "1 + 1"
	oidc := receiver(ns, "oidc", "generic-oidc")
	oidc.Spec.OIDCProviders = []notificationv1.OIDCProvider{{IssuerURL: "https://issuer.example.com",
		Validations: []notificationv1.OIDCValidation{{Expression: "claims.sub.startsWith(", Message: "no"}}}}
	cross := receiver(ns, "cross", "generic")
	cross.Spec.Resources[0].Namespace = "elsewhere"
	invalid := notificationv1.ValidationFailedReason
	tests := []struct {
		rcv          *notificationv1.Receiver
		reason, want string
	}{
		{filtered, invalid, "spec.resourceFilter: does not compile: ERROR: <input>:1:"},
		{typed, invalid, "spec.resourceFilter: does not compile: must give a bool, gives string"},
		{entry, invalid, "spec.resources[0].filter: does not compile: must give a bool, gives int"},
		{oidc, invalid, "spec.oidcProviders[0].validations[0]: does not compile: ERROR: <input>:1:"},
		{cross, acl.AccessDeniedReason, "spec.resources[0]: cannot use GitRepository elsewhere/app from namespace " + ns +
			": cross-namespace references are disabled on this controller (--no-cross-namespace-refs)"},
	}
	for _, tt := range tests {
		t.Run(tt.rcv.Name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(env.Client.Create(ctx, tt.rcv)).To(Succeed())
			g.Eventually(func(g Gomega) {
				got := &notificationv1.Receiver{}
				g.Expect(reader.Get(ctx, client.ObjectKeyFromObject(tt.rcv), got)).To(Succeed())
				g.Expect(conditions.IsStalled(got)).To(BeTrue())
				g.Expect(conditions.GetReason(got, meta.ReadyCondition)).To(Equal(tt.reason))
				g.Expect(conditions.GetMessage(got, meta.ReadyCondition)).To(HavePrefix(tt.want))
				g.Expect(got.Status.WebhookPath).To(BeEmpty())
			}, 20*time.Second, 50*time.Millisecond).Should(Succeed())
		})
	}
}
