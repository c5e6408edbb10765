package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// TestValuesFromWatch: a change to a ConfigMap labelled
// reconcile.fluxcd.io/watch: Enabled upgrades the releases using it.
func TestValuesFromWatch(t *testing.T) {
	startController(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	publishChart(t, ns, "app", appChart(t, "1.0.0"), "1.0.0")

	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vals", Labels: map[string]string{WatchLabel: "Enabled"}},
		Data: map[string]string{"values.yaml": "message: one\n"}}
	g.Expect(env.Client.Create(ctx, cm)).To(Succeed())
	hr := newRelease(ns, "watched", "app", "")
	hr.Spec.ValuesFrom = []meta.ValuesReference{{Kind: "ConfigMap", Name: "vals"}}
	g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
	eventuallyReady(t, hr, 90*time.Second)

	cm.Data["values.yaml"] = "message: two\n"
	g.Expect(env.Client.Update(ctx, cm)).To(Succeed())
	g.Eventually(func(g Gomega) {
		var out corev1.ConfigMap
		g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "watched-config"}, &out)).To(Succeed())
		g.Expect(out.Data["message"]).To(Equal("two"))
	}, 60*time.Second, 250*time.Millisecond).Should(Succeed())
}

// TestServiceAccountImpersonation: with serviceAccountName the release is
// applied as that account: forbidden without rights (quoted), installed
// once a RoleBinding grants them.
func TestServiceAccountImpersonation(t *testing.T) {
	startController(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	publishChart(t, ns, "app", appChart(t, "1.0.0"), "1.0.0")
	g.Expect(env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deployer"}})).To(Succeed())

	hr := newRelease(ns, "imp", "app", "")
	hr.Spec.ServiceAccountName = "deployer"
	hr.Spec.Install = &helmv2.Install{Remediation: &helmv2.InstallRemediation{Retries: -1}}
	g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
	got := eventuallyCondition(t, hr, meta.ReadyCondition, false, helmv2.GetLastReleaseFailedReason, 60*time.Second)
	g.Expect(conditions.GetMessage(got, meta.ReadyCondition)).To(ContainSubstring(`"system:serviceaccount:` + ns + `:deployer" cannot list resource "secrets"`))

	g.Expect(env.Client.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deployer-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "admin"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "deployer", Namespace: ns}},
	})).To(Succeed())
	requestReconcile(t, hr)
	eventuallyReady(t, hr, 90*time.Second)
}
