package controller

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	releasecommon "helm.sh/helm/v4/pkg/release/common"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// TestHelmReleaseUninstallOptions: each case installs the opts chart,
// deletes the HelmRelease with one spec.uninstall option set and checks
// what the uninstall left behind.
func TestHelmReleaseUninstallOptions(t *testing.T) {
	startController(t)
	ctx := context.Background()
	orphan := "orphan"
	cases := []struct {
		name    string
		values  string
		options *helmv2.Uninstall
		check   func(t *testing.T, hr *helmv2.HelmRelease, ns string)
	}{
		{name: "defaults run the pre-delete hook and drop the history",
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns string) {
				g := NewWithT(t)
				g.Expect(configMap(t, ns, "r-predelete")).NotTo(BeNil())
				g.Expect(releaseHistory(t, hr)).To(BeEmpty())
			}},
		{name: "disableHooks", options: &helmv2.Uninstall{DisableHooks: true},
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns string) {
				NewWithT(t).Expect(configMap(t, ns, "r-predelete")).To(BeNil())
			}},
		{name: "keepHistory", options: &helmv2.Uninstall{KeepHistory: true},
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns string) {
				g := NewWithT(t)
				hist := releaseHistory(t, hr)
				g.Expect(hist).To(HaveLen(1))
				g.Expect(hist[0].Info.Status).To(Equal(releasecommon.StatusUninstalled))
				g.Expect(configMap(t, ns, "r-config")).To(BeNil(), "the objects are deleted all the same")
			}},
		{name: "deletionPropagation background", values: "deployment: true\n",
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns string) {
				NewWithT(t).Eventually(func(g Gomega) {
					g.Expect(replicaSets(g, ns)).To(BeEmpty(), "the garbage collector deletes the Deployment's ReplicaSets")
				}, fieldsTimeout, 250*time.Millisecond).Should(Succeed())
			}},
		{name: "deletionPropagation orphan", values: "deployment: true\n", options: &helmv2.Uninstall{DeletionPropagation: &orphan},
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns string) {
				g := NewWithT(t)
				rs := replicaSets(g, ns)
				g.Expect(rs).NotTo(BeEmpty(), "the Deployment's ReplicaSets are orphaned, not deleted")
				g.Expect(rs[0].OwnerReferences).To(BeEmpty())
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			ns := env.NewNamespace(t)
			publishOpts(t, ns, "1.0.0", "")
			hr := newRelease(ns, "r", "opts", tc.values)
			hr.Spec.Uninstall = tc.options
			g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
			eventuallyReady(t, hr, fieldsTimeout)
			if tc.values != "" {
				g.Eventually(func(g Gomega) { g.Expect(replicaSets(g, ns)).NotTo(BeEmpty()) }, fieldsTimeout).Should(Succeed())
			}
			g.Expect(env.Client.Delete(ctx, hr)).To(Succeed())
			g.Eventually(func() bool {
				return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(hr), &helmv2.HelmRelease{}))
			}, fieldsTimeout).Should(BeTrue())
			g.Expect(apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "r"}, &appsv1.Deployment{}))).To(BeTrue())
			tc.check(t, hr, ns)
		})
	}
}

// replicaSets lists the ReplicaSets in ns.
func replicaSets(g Gomega, ns string) []appsv1.ReplicaSet {
	var list appsv1.ReplicaSetList
	g.Expect(env.Client.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
	return list.Items
}

// TestHelmReleaseSuspend: a suspended HelmRelease is not installed, even
// on request; resuming installs it.
func TestHelmReleaseSuspend(t *testing.T) {
	startController(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	publishOpts(t, ns, "1.0.0", "")
	hr := newRelease(ns, "r", "opts", "")
	hr.Spec.Suspend = true
	g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
	requestReconcile(t, hr)
	g.Consistently(func() int { return len(releaseHistory(t, hr)) }, 5*time.Second, 250*time.Millisecond).Should(BeZero())
	g.Expect(configMap(t, ns, "r-config")).To(BeNil())

	updateSpec(t, hr, func(hr *helmv2.HelmRelease) { hr.Spec.Suspend = false })
	eventuallyReady(t, hr, fieldsTimeout)
	g.Expect(configMap(t, ns, "r-config")).NotTo(BeNil())
}
