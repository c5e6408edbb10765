package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/acl"
	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	fluxcontroller "github.com/fluxcd/pkg/runtime/controller"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/runtime/reconcile"

	"gotk.dev/helm-controller/internal/action"
)

// TestTenancyLockdown is the multi-tenancy story of a helm-controller run
// with --no-cross-namespace-refs and --default-service-account=tenant-sa,
// the ObjectLevelWorkloadIdentity gate off: a tenant in namespace A is
// refused every reference into namespace B (the flag named in the
// condition); a HelmRelease without serviceAccountName installs as
// tenant-sa, so a chart writing into B is forbidden (naming the account)
// until a RoleBinding in B allows it; a kubeConfig configMapRef gets no
// token minted.
func TestTenancyLockdown(t *testing.T) {
	startController(t)
	const shard = "tenancy"
	startShard(t, shard, reconcile.ControllerOptions{Concurrent: 2,
		RateLimiter: fluxcontroller.RateLimiterOptions{MinRetryDelay: 100 * time.Millisecond, MaxRetryDelay: 2 * time.Second}},
		func(r *HelmReleaseReconciler) {
			r.ImpersonationClients = action.NewImpersonator(env.Config).Clients
			r.Remotes = action.NewRemotes()
			r.NoCrossNamespaceRefs = true
			r.DefaultServiceAccount = "tenant-sa"
		})
	g := NewWithT(t)
	ctx := context.Background()
	tenant, other := env.NewNamespace(t), env.NewNamespace(t)

	// A chart whose ConfigMap goes to the namespace its values name.
	data := packageChart(t, "writer", "1.0.0", map[string]string{
		"values.yaml": "target: \"\"\n",
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-written\n" +
			"  namespace: {{ .Values.target | default .Release.Namespace }}\ndata:\n  k: v\n",
	})
	for _, ns := range []string{tenant, other} {
		g.Expect(env.Client.Create(ctx, &sourcev1.HelmChart{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "writer", Labels: shardLabels(shard)},
			Spec: sourcev1.HelmChartSpec{Chart: "writer", Version: "*", Interval: metav1.Duration{Duration: time.Hour},
				SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.HelmRepositoryKind, Name: "charts"}},
		})).To(Succeed())
		publishChart(t, ns, "writer", data, "1.0.0")
	}
	// tenant-sa administers its own namespace only.
	g.Expect(env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metaOf(tenant, "tenant-sa")})).To(Succeed())
	bindAdmin := func(ns string) {
		g.Expect(env.Client.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metaOf(ns, "tenant-sa-admin"),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "tenant-sa", Namespace: tenant}},
		})).To(Succeed())
	}
	bindAdmin(tenant)

	newTenantRelease := func(name string, mutate func(*helmv2.HelmRelease)) *helmv2.HelmRelease {
		hr := newRelease(tenant, name, "writer", "")
		hr.Labels = shardLabels(shard)
		mutate(hr)
		g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
		return hr
	}

	for _, tc := range []struct {
		name       string
		mutate     func(*helmv2.HelmRelease)
		wantReason string
		wantMsg    []string
	}{
		{name: "chartref-in-b", mutate: func(hr *helmv2.HelmRelease) { hr.Spec.ChartRef.Namespace = other },
			wantReason: acl.AccessDeniedReason, wantMsg: []string{"spec.chartRef", "HelmChart " + other + "/writer"}},
		{name: "chart-template-in-b", mutate: func(hr *helmv2.HelmRelease) {
			hr.Spec.ChartRef = nil
			hr.Spec.Chart = &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{Chart: "writer",
				SourceRef: helmv2.CrossNamespaceObjectReference{Kind: sourcev1.HelmRepositoryKind, Name: "charts", Namespace: other}}}
		}, wantReason: acl.AccessDeniedReason, wantMsg: []string{"spec.chart.spec.sourceRef", "HelmRepository " + other + "/charts"}},
		{name: "depends-on-b", mutate: func(hr *helmv2.HelmRelease) {
			hr.Spec.DependsOn = []meta.DependencyReference{{Name: "infra", Namespace: other}}
		}, wantReason: acl.AccessDeniedReason, wantMsg: []string{"spec.dependsOn[0]", "HelmRelease " + other + "/infra"}},
		{name: "minted-token", mutate: func(hr *helmv2.HelmRelease) {
			hr.Spec.KubeConfig = &meta.KubeConfigReference{ConfigMapRef: &meta.LocalObjectReference{Name: "remote"}}
		}, wantReason: meta.FeatureGateDisabledReason, wantMsg: []string{"spec.kubeConfig.configMapRef", "ObjectLevelWorkloadIdentity"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "minted-token" {
				g.Expect(env.Client.Create(ctx, &corev1.ConfigMap{ObjectMeta: metaOf(tenant, "remote"), Data: map[string]string{
					"provider": "generic", "address": "https://tenant-chosen.example:6443", "serviceAccountName": "tenant-sa"}})).To(Succeed())
			}
			hr := newTenantRelease(tc.name, tc.mutate)
			got := eventuallyCondition(t, hr, meta.StalledCondition, true, tc.wantReason, 30*time.Second)
			msg := conditions.GetMessage(got, meta.ReadyCondition)
			if tc.wantReason == acl.AccessDeniedReason {
				tc.wantMsg = append(tc.wantMsg, "--no-cross-namespace-refs")
			}
			for _, m := range tc.wantMsg {
				NewWithT(t).Expect(msg).To(ContainSubstring(m))
			}
		})
	}
	// No HelmChart was made in B for the refused template.
	g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: other, Name: tenant + "-chart-template-in-b"}, &sourcev1.HelmChart{})).NotTo(Succeed())

	// No serviceAccountName: installed as tenant-sa, forbidden in B ...
	hr := newTenantRelease("outside", func(hr *helmv2.HelmRelease) {
		hr.Spec.Values = jsonValues("target: " + other)
		hr.Spec.Install = &helmv2.Install{Remediation: &helmv2.InstallRemediation{Retries: -1}}
	})
	g.Eventually(func(g Gomega) {
		got := getRelease(g, hr)
		g.Expect(conditions.IsReady(got)).To(BeFalse())
		msg := conditions.GetMessage(got, meta.ReadyCondition)
		g.Expect(msg).To(ContainSubstring(fmt.Sprintf(`"system:serviceaccount:%s:tenant-sa" cannot`, tenant)))
		g.Expect(msg).To(ContainSubstring("forbidden"))
	}, 60*time.Second, 200*time.Millisecond).Should(Succeed())
	g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: other, Name: "outside-written"}, &corev1.ConfigMap{})).NotTo(Succeed())

	// ... and installed once a RoleBinding in B allows it.
	bindAdmin(other)
	requestReconcile(t, hr)
	eventuallyReady(t, hr, 90*time.Second)
	g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: other, Name: "outside-written"}, &corev1.ConfigMap{})).To(Succeed())
}
