package controller

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	helmaction "helm.sh/helm/v4/pkg/action"
	helmrelease "helm.sh/helm/v4/pkg/release/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	"gotk.dev/pkg/testserver"

	"gotk.dev/helm-controller/internal/action"
)

// jsonValues turns YAML into spec.values.
func jsonValues(y string) *apiextensionsv1.JSON {
	b, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		panic(err)
	}
	return &apiextensionsv1.JSON{Raw: b}
}

func patchAnnotations(t testing.TB, hr *helmv2.HelmRelease, ann map[string]any) {
	t.Helper()
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": ann}})
	if err := env.Client.Patch(context.Background(), hr, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		t.Fatal(err)
	}
}

// helmConfig returns a Helm configuration over the release's storage.
func helmConfig(t testing.TB, hr *helmv2.HelmRelease) *helmaction.Configuration {
	t.Helper()
	cfg, err := reconciler.Clients.Configuration(hr.GetStorageNamespace(), hr.GetReleaseNamespace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// releaseHistory returns every stored version of the release, oldest
// first.
func releaseHistory(t testing.TB, hr *helmv2.HelmRelease) []*helmrelease.Release {
	t.Helper()
	h, _ := action.History(helmConfig(t, hr), hr.GetReleaseName())
	return h
}

// eventuallyReady waits for Ready=True on the current generation.
func eventuallyReady(t *testing.T, hr *helmv2.HelmRelease, timeout time.Duration) *helmv2.HelmRelease {
	t.Helper()
	g := NewWithT(t)
	var got *helmv2.HelmRelease
	g.Eventually(func(g Gomega) {
		got = getRelease(g, hr)
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		g.Expect(conditions.IsReady(got)).To(BeTrue(), "Ready: %s", conditions.GetMessage(got, meta.ReadyCondition))
	}, timeout, 200*time.Millisecond).Should(Succeed())
	return got
}

// eventuallyCondition waits for a condition with a status and reason.
func eventuallyCondition(t *testing.T, hr *helmv2.HelmRelease, typ string, status bool, reason string, timeout time.Duration) *helmv2.HelmRelease {
	t.Helper()
	g := NewWithT(t)
	var got *helmv2.HelmRelease
	g.Eventually(func(g Gomega) {
		got = getRelease(g, hr)
		c := conditions.Get(got, typ)
		g.Expect(c).NotTo(BeNil(), "no %s condition; Ready: %s", typ, conditions.GetMessage(got, meta.ReadyCondition))
		want := "False"
		if status {
			want = "True"
		}
		g.Expect(string(c.Status)).To(Equal(want), "%s: %s", typ, c.Message)
		g.Expect(c.Reason).To(Equal(reason), "%s: %s", typ, c.Message)
	}, timeout, 200*time.Millisecond).Should(Succeed())
	return got
}

func metaOf(ns, name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }

func digestOf(data []byte) string { return testserver.Digest(data) }
