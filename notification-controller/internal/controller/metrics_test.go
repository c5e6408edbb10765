package controller

import (
	"context"
	"testing"
	"time"

	fluxcontroller "github.com/fluxcd/pkg/runtime/controller"
	"github.com/fluxcd/pkg/runtime/events"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	notificationv1 "gotk.dev/pkg/apis/notification/v1"
	"gotk.dev/pkg/runtime/metricstest"
	"gotk.dev/pkg/runtime/reconcile"
)

// TestMetricsReceiver checks that a reconciled Receiver exports Flux's
// reconcile metrics and that deleting it drops its series.
func TestMetricsReceiver(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "token"},
		StringData: map[string]string{"token": "t"}})).To(Succeed())
	rcv := receiver(ns, "measured", "generic")
	g.Expect(env.Client.Create(ctx, rcv)).To(Succeed())
	metricstest.ExpectMeasured(g, notificationv1.ReceiverKind, ns, rcv.Name, metav1.ConditionTrue, false)

	g.Expect(env.Client.Delete(ctx, rcv)).To(Succeed())
	metricstest.ExpectForgotten(g, notificationv1.ReceiverKind, ns, rcv.Name)
}

// retryUser may list and watch Secrets but not read one, so a Receiver's
// token read fails with a transient Forbidden error.
const retryUser = "receiver-retry-test"

// TestMetricsRetryDelay checks that --min-retry-delay reaches the Receiver
// controller: a Receiver whose token Secret cannot be read is retried no
// sooner than the delay.
func TestMetricsRetryDelay(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	grantRetryUser(t)
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: retryUser}
	const minDelay = 2 * time.Second
	metricstest.StartShard(t, cfg, env.Scheme, "retry", func(mgr ctrl.Manager) error {
		rec, err := events.NewRecorder(ctrl.Log, "", "notification-controller", events.WithManager(mgr))
		if err != nil {
			return err
		}
		r := &ReceiverReconciler{APIReader: mgr.GetAPIReader(), NoCrossNamespaceRefs: true}
		return r.SetupWithManager(ctx, mgr, ReceiverOptions{ControllerName: "notification-controller", Events: rec,
			ControllerOptions: reconcile.ControllerOptions{Concurrent: 1,
				RateLimiter: fluxcontroller.RateLimiterOptions{MinRetryDelay: minDelay, MaxRetryDelay: time.Minute}}})
	})
	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "token"},
		StringData: map[string]string{"token": "t"}})).To(Succeed())
	rcv := receiver(ns, "forbidden", "generic")
	rcv.Labels = map[string]string{metricstest.ShardLabel: "retry"}
	g.Expect(env.Client.Create(ctx, rcv)).To(Succeed())
	metricstest.ExpectBackoff(g, notificationv1.ReceiverKind, ns, rcv.Name, minDelay)
	metricstest.ExpectMeasured(g, notificationv1.ReceiverKind, ns, rcv.Name, metav1.ConditionFalse, false)
}

// grantRetryUser lets retryUser run the Receiver controller, except for
// reading Secrets.
func grantRetryUser(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: retryUser}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{notificationv1.GroupVersion.Group}, Resources: []string{"receivers", "receivers/status"},
			Verbs: []string{"get", "list", "watch", "patch", "update"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list", "watch"}},
		{APIGroups: []string{"", "events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
	}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: retryUser},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: retryUser},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: retryUser}}}
	if err := env.Client.Create(ctx, role); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.Client.Delete(ctx, binding)
		_ = env.Client.Delete(ctx, role)
	})
}
