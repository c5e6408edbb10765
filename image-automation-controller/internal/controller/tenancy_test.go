package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/acl"
	"github.com/fluxcd/pkg/apis/meta"
	fluxcontroller "github.com/fluxcd/pkg/runtime/controller"
	. "github.com/onsi/gomega"
	ctrl "sigs.k8s.io/controller-runtime"

	"gotk.dev/pkg/runtime/metricstest"
	"gotk.dev/pkg/runtime/reconcile"
)

// TestTenancyLockdown: with --no-cross-namespace-refs a tenant in namespace
// A is refused an ImageRepository of namespace B even though B's
// accessFrom admits every namespace, and an ImageUpdateAutomation naming
// B's GitRepository is refused before B's Git credentials are read or its
// repository fetched; the condition names the flag.
func TestTenancyLockdown(t *testing.T) {
	const shard = "tenancy"
	opts := reconcile.ControllerOptions{Concurrent: 1,
		RateLimiter: fluxcontroller.RateLimiterOptions{MinRetryDelay: 100 * time.Millisecond, MaxRetryDelay: 2 * time.Second}}
	metricstest.StartShard(t, env.Config, env.Scheme, shard, func(mgr ctrl.Manager) error {
		p := &ImagePolicyReconciler{Client: mgr.GetClient(), Events: automations.Events, Store: store,
			ControllerName: testController, NoCrossNamespaceRefs: true}
		if err := p.SetupWithManager(context.Background(), mgr, opts); err != nil {
			return err
		}
		a := &ImageUpdateAutomationReconciler{Client: mgr.GetClient(), Events: automations.Events,
			ControllerName: testController, NoCrossNamespaceRefs: true}
		return a.SetupWithManager(mgr, opts)
	})
	g := NewWithT(t)
	ctx := context.Background()
	tenant, other := env.NewNamespace(t), env.NewNamespace(t)
	labels := map[string]string{metricstest.ShardLabel: shard}

	// B's repository admits every namespace: the flag still refuses it.
	dockerSecret(t, other, "creds", regPassword)
	repo := newRepository(other, "shared", "tenancy/shared")
	repo.Spec.AccessFrom = &acl.AccessFrom{NamespaceSelectors: []acl.NamespaceSelector{{MatchLabels: map[string]string{}}}}
	g.Expect(env.Client.Create(ctx, repo)).To(Succeed())
	p := newPolicy(tenant, "consumer", "shared", semverPolicy("1.x"))
	p.Labels = labels
	p.Spec.ImageRepositoryRef.Namespace = other
	g.Expect(env.Client.Create(ctx, p)).To(Succeed())
	p = stalled(t, p, acl.AccessDeniedReason, "--no-cross-namespace-refs")
	g.Expect(p.Status.LatestRef).To(BeNil())
	g.Expect(conditionMessage(p)).To(ContainSubstring("spec.imageRepositoryRef: cannot use ImageRepository " + other + "/shared"))

	// B's GitRepository and credentials are never used.
	gitSource(t, other, "tenancy-b", gitPassword)
	gitSrv.ResetRequestCounts()
	a := newAutomation(tenant, "pusher", "tenancy-b")
	a.Labels = labels
	a.Spec.SourceRef.Namespace = other
	g.Expect(env.Client.Create(ctx, a)).To(Succeed())
	a = stalled(t, a, acl.AccessDeniedReason, "--no-cross-namespace-refs")
	g.Expect(conditionMessage(a)).To(ContainSubstring("spec.sourceRef: cannot use GitRepository " + other + "/tenancy-b"))
	g.Expect(gitSrv.RequestCount("GET", "/tenancy-b/info/refs")).To(BeZero())
	g.Expect(gitSrv.RequestCount("POST", "/tenancy-b/git-receive-pack")).To(BeZero())
}

func conditionMessage(obj meta.ObjectWithConditions) string {
	for _, c := range obj.GetConditions() {
		if c.Type == meta.ReadyCondition {
			return c.Message
		}
	}
	return ""
}
