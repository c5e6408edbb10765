package controller

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	helmrelease "helm.sh/helm/v4/pkg/release/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "gotk.dev/pkg/apis/helm/v2"

	"gotk.dev/helm-controller/internal/action"
)

// stored returns the versions of release name in storageNS, oldest first.
func stored(t testing.TB, storageNS, name string) []*helmrelease.Release {
	t.Helper()
	cfg, err := reconciler.Clients.Configuration(storageNS, storageNS, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := action.History(cfg, name)
	return h
}

// updateSpec changes the HelmRelease's spec and returns the updated object.
func updateSpec(t *testing.T, hr *helmv2.HelmRelease, mutate func(*helmv2.HelmRelease)) *helmv2.HelmRelease {
	t.Helper()
	g := NewWithT(t)
	g.Eventually(func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(hr), hr); err != nil {
			return err
		}
		mutate(hr)
		return env.Client.Update(context.Background(), hr)
	}, 10*time.Second).Should(Succeed())
	return hr
}

// eventuallyTarget waits until the HelmRelease is Ready with its latest
// release name/namespace, version and storage namespace as given.
func eventuallyTarget(t *testing.T, hr *helmv2.HelmRelease, storageNS, releaseNS, name string, version int) *helmv2.HelmRelease {
	t.Helper()
	g := NewWithT(t)
	var got *helmv2.HelmRelease
	g.Eventually(func(g Gomega) {
		got = getRelease(g, hr)
		latest := got.Status.History.Latest()
		g.Expect(latest).NotTo(BeNil())
		g.Expect(latest.FullReleaseName()).To(Equal(releaseNS + "/" + name + ".v" + strconv.Itoa(version)))
		g.Expect(got.Status.StorageNamespace).To(Equal(storageNS))
	}, 90*time.Second, 250*time.Millisecond).Should(Succeed())
	return eventuallyReady(t, hr, 60*time.Second)
}

// TestReleaseTargetChange: changing storageNamespace, releaseName or
// targetNamespace of an installed release uninstalls it from where it was
// and installs it anew, leaving no orphaned release or objects behind.
func TestReleaseTargetChange(t *testing.T) {
	startController(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	store := env.NewNamespace(t)
	other := env.NewNamespace(t)
	publishChart(t, ns, "app", appChart(t, "1.0.0"), "1.0.0")

	hr := newRelease(ns, "move", "app", "")
	g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
	eventuallyTarget(t, hr, ns, ns, "move", 1)

	// storageNamespace: the release leaves the old storage for the new one.
	updateSpec(t, hr, func(hr *helmv2.HelmRelease) { hr.Spec.StorageNamespace = store })
	got := eventuallyTarget(t, hr, store, ns, "move", 1)
	g.Expect(got.Status.History).To(HaveLen(1))
	g.Expect(stored(t, ns, "move")).To(BeEmpty(), "no release left in the old storage namespace")
	g.Expect(stored(t, store, "move")).To(HaveLen(1))
	g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "move-config"}, &corev1.ConfigMap{})).To(Succeed())
	g.Eventually(func() bool {
		return hasEventMessage(ns, "move", helmv2.UninstallSucceededReason, "storage namespace changed from "+ns+" to "+store)
	}, 10*time.Second).Should(BeTrue())

	// releaseName: the old release and its objects are gone.
	updateSpec(t, hr, func(hr *helmv2.HelmRelease) { hr.Spec.ReleaseName = "moved" })
	eventuallyTarget(t, hr, store, ns, "moved", 1)
	g.Expect(stored(t, store, "move")).To(BeEmpty())
	g.Expect(stored(t, store, "moved")).To(HaveLen(1))
	g.Expect(apierrors.IsNotFound(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "move"}, &appsv1.Deployment{}))).To(BeTrue())
	g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "moved-config"}, &corev1.ConfigMap{})).To(Succeed())

	// targetNamespace: the objects move to the new namespace.
	updateSpec(t, hr, func(hr *helmv2.HelmRelease) { hr.Spec.TargetNamespace = other })
	eventuallyTarget(t, hr, store, other, "moved", 1)
	g.Expect(stored(t, store, "moved")).To(HaveLen(1))
	g.Expect(stored(t, store, "moved")[0].Namespace).To(Equal(other))
	g.Expect(apierrors.IsNotFound(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "moved-config"}, &corev1.ConfigMap{}))).To(BeTrue())
	g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: other, Name: "moved-config"}, &corev1.ConfigMap{})).To(Succeed())

	// Delete → the release where it now is is uninstalled.
	g.Expect(env.Client.Delete(ctx, hr)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(hr), &helmv2.HelmRelease{}))
	}, 60*time.Second).Should(BeTrue())
	g.Expect(stored(t, store, "moved")).To(BeEmpty())
}

// TestChartNameChange: a new chart name reinstalls the release by default
// (Reinstall: the old chart's objects go, the release starts at version
// 1) and upgrades it in place with chartNameChangeStrategy InPlaceUpdate.
func TestChartNameChange(t *testing.T) {
	startController(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	publishChart(t, ns, "app", appChart(t, "1.0.0"), "1.0.0")
	publishChart(t, ns, "site", packageChart(t, "site", "1.0.0", map[string]string{
		"templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  chart: site\n",
	}), "1.0.0")

	for _, tc := range []struct {
		name        string
		strategy    helmv2.ChartNameChangeStrategy
		wantVersion int
		wantHistory int
	}{
		{name: "reinstall", wantVersion: 1, wantHistory: 1},
		{name: "inplace", strategy: helmv2.ChartNameChangeInPlaceUpdate, wantVersion: 2, wantHistory: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			hr := newRelease(ns, tc.name, "app", "")
			if tc.strategy != "" {
				hr.Spec.Upgrade = &helmv2.Upgrade{ChartNameChangeStrategy: tc.strategy}
			}
			g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
			eventuallyTarget(t, hr, ns, ns, tc.name, 1)

			updateSpec(t, hr, func(hr *helmv2.HelmRelease) { hr.Spec.ChartRef.Name = "site" })
			g.Eventually(func(g Gomega) {
				latest := getRelease(g, hr).Status.History.Latest()
				g.Expect(latest.ChartName).To(Equal("site"))
				g.Expect(latest.Version).To(Equal(tc.wantVersion))
			}, 90*time.Second, 250*time.Millisecond).Should(Succeed())
			got := eventuallyReady(t, hr, 60*time.Second)
			g.Expect(got.Status.History).To(HaveLen(tc.wantHistory))
			g.Expect(stored(t, ns, tc.name)).To(HaveLen(tc.wantVersion))
			var cm corev1.ConfigMap
			g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: tc.name + "-config"}, &cm)).To(Succeed())
			g.Expect(cm.Data["chart"]).To(Equal("site"))
			// The app chart's Deployment is gone either way: uninstalled,
			// or dropped by the upgrade.
			g.Eventually(func() bool {
				return apierrors.IsNotFound(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: tc.name}, &appsv1.Deployment{}))
			}, 30*time.Second).Should(BeTrue())
		})
	}
}

// hasEventMessage reports whether the sink received an event for the
// HelmRelease with the reason and a message containing text.
func hasEventMessage(ns, name, reason, text string) bool {
	for _, r := range sink.Requests() {
		var ev struct {
			InvolvedObject  struct{ Namespace, Name string }
			Reason, Message string
		}
		if json.Unmarshal(r.Body, &ev) != nil {
			continue
		}
		if ev.InvolvedObject.Namespace == ns && ev.InvolvedObject.Name == name && ev.Reason == reason && strings.Contains(ev.Message, text) {
			return true
		}
	}
	return false
}
