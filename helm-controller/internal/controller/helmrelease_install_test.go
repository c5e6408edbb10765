package controller

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// TestInstallUpgradeUninstall: a HelmRelease of a HelmChart artifact is
// installed and Ready once its Deployment is Available; a reconcile
// request without changes makes no Helm action; status.inventory lists the
// release's objects; a values change upgrades;
// deleting the HelmRelease uninstalls the release.
func TestInstallUpgradeUninstall(t *testing.T) {
	startController(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	publishChart(t, ns, "app", appChart(t, "1.0.0"), "1.0.0")

	hr := newRelease(ns, "web", "app", "message: first\n")
	hr.Spec.CommonMetadata = &helmv2.CommonMetadata{Labels: map[string]string{"team": "a"}}
	g.Expect(env.Client.Create(ctx, hr)).To(Succeed())

	got := eventuallyReady(t, hr, 90*time.Second)
	g.Expect(conditions.GetReason(got, helmv2.ReleasedCondition)).To(Equal(helmv2.InstallSucceededReason))
	g.Expect(conditions.GetMessage(got, "Ready")).To(ContainSubstring("Helm install succeeded for release " + ns + "/web.v1 with chart app@1.0.0"))
	g.Expect(got.Status.LastAttemptedRevision).To(Equal("1.0.0"))
	g.Expect(got.Status.LastAttemptedConfigDigest).To(HavePrefix("sha256:"))
	g.Expect(got.Status.LastAttemptedReleaseAction).To(Equal(helmv2.ReleaseActionInstall))
	g.Expect(got.Status.StorageNamespace).To(Equal(ns))
	g.Expect(got.Status.History).To(HaveLen(1))
	g.Expect(got.Status.History[0].Status).To(Equal("deployed"))
	g.Expect(got.Status.History[0].ChartName).To(Equal("app"))
	g.Expect(got.Status.History[0].ConfigDigest).To(Equal(got.Status.LastAttemptedConfigDigest))
	// status.inventory lists the release's objects, as Flux's does.
	g.Expect(got.Status.Inventory).NotTo(BeNil())
	g.Expect(got.Status.Inventory.Entries).To(ContainElements(
		helmv2.ResourceRef{ID: ns + "_web_apps_Deployment", Version: "v1"},
		helmv2.ResourceRef{ID: ns + "_web-config__ConfigMap", Version: "v1"}))

	// Helm waited for the rollout: the Deployment is Available.
	var deploy appsv1.Deployment
	g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web"}, &deploy)).To(Succeed())
	g.Expect(deploy.Status.AvailableReplicas).To(Equal(int32(1)))
	g.Expect(deploy.Labels).To(HaveKeyWithValue(helmv2.NameLabel, "web"))
	g.Expect(deploy.Labels).To(HaveKeyWithValue(helmv2.NamespaceLabel, ns))
	g.Expect(deploy.Labels).To(HaveKeyWithValue("team", "a"))

	// The news reached the events address with the chart revision.
	g.Eventually(func() bool { return hasEvent(ns, "web", helmv2.InstallSucceededReason, "1.0.0") }, 10*time.Second).Should(BeTrue())

	// Unchanged: a requested reconcile is handled without a Helm action.
	token := requestReconcile(t, hr)
	g.Eventually(func(g Gomega) {
		g.Expect(getRelease(g, hr).Status.LastHandledReconcileAt).To(Equal(token))
	}, 30*time.Second).Should(Succeed())
	g.Expect(releaseHistory(t, hr)).To(HaveLen(1), "an unchanged release must not be upgraded")

	// Values change → upgrade.
	g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web"}, hr)).To(Succeed())
	hr.Spec.Values = jsonValues("message: second\n")
	g.Expect(env.Client.Update(ctx, hr)).To(Succeed())
	got = eventuallyCondition(t, hr, helmv2.ReleasedCondition, true, helmv2.UpgradeSucceededReason, 90*time.Second)
	got = eventuallyReady(t, hr, 30*time.Second)
	g.Expect(got.Status.History.Latest().Version).To(Equal(2))
	var cm corev1.ConfigMap
	g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web-config"}, &cm)).To(Succeed())
	g.Expect(cm.Data["message"]).To(Equal("second"))

	// Delete → uninstalled: no release left, objects gone.
	g.Expect(env.Client.Delete(ctx, hr)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web"}, &helmv2.HelmRelease{}))
	}, 60*time.Second).Should(BeTrue())
	g.Expect(releaseHistory(t, hr)).To(BeEmpty())
	g.Expect(apierrors.IsNotFound(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web-config"}, &cm))).To(BeTrue())
}

// hasEvent reports whether the sink received an event for the HelmRelease
// with the reason and revision metadata.
func hasEvent(ns, name, reason, revision string) bool {
	for _, r := range sink.Requests() {
		var ev struct {
			InvolvedObject struct{ Namespace, Name string }
			Reason         string
			Metadata       map[string]string
		}
		if json.Unmarshal(r.Body, &ev) != nil {
			continue
		}
		if ev.InvolvedObject.Namespace == ns && ev.InvolvedObject.Name == name && ev.Reason == reason &&
			ev.Metadata[helmv2.RevisionEventAnnotation] == revision {
			return true
		}
	}
	return false
}
