package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// crdHookChart has a CRD among its templates (outside Helm's crds/
// lifecycle) and a post-install hook creating an object of that kind.
func crdHookChart(t testing.TB, group string) []byte {
	return packageChart(t, "crdhook", "1.0.0", map[string]string{
		"templates/crd.yaml": fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.%[1]s
spec:
  group: %[1]s
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`, group),
		"templates/hook.yaml": fmt.Sprintf(`apiVersion: %s/v1
kind: Widget
metadata:
  name: {{ .Release.Name }}-widget
  annotations:
    helm.sh/hook: post-install
spec:
  size: 1
`, group),
	})
}

// TestPersistentClient: a chart whose post-install hook uses a kind its
// own templates define fails with the persistent (shared, cached) client,
// which does not see the new kind, and installs with persistentClient:
// false, whose every step rediscovers the API, as Flux documents.
func TestPersistentClient(t *testing.T) {
	startController(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		persistent *bool
		ready      bool
	}{
		{name: "persistent", persistent: nil, ready: false},
		{name: "fresh", persistent: new(bool), ready: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			ns := env.NewNamespace(t)
			publishChart(t, ns, "crdhook", crdHookChart(t, tc.name+"."+ns+".example.com"), "1.0.0")
			hr := newRelease(ns, "hooked", "crdhook", "")
			hr.Spec.PersistentClient = tc.persistent
			g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
			if tc.ready {
				got := eventuallyReady(t, hr, 90*time.Second)
				g.Expect(conditions.GetReason(got, helmv2.ReleasedCondition)).To(Equal(helmv2.InstallSucceededReason))
				return
			}
			g.Eventually(func(g Gomega) {
				got := getRelease(g, hr)
				g.Expect(conditions.GetReason(got, helmv2.ReleasedCondition)).To(Equal(helmv2.InstallFailedReason))
				g.Expect(conditions.GetMessage(got, helmv2.ReleasedCondition)).To(ContainSubstring(`no matches for kind "Widget"`))
			}, 90*time.Second, 200*time.Millisecond).Should(Succeed())
		})
	}
}
