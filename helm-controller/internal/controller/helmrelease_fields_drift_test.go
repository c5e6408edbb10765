package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/kustomize"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// TestHelmReleaseDriftIgnoreTarget: with drift correction enabled, an
// ignore rule leaves its paths alone on the objects its target selects,
// and only on those.
func TestHelmReleaseDriftIgnoreTarget(t *testing.T) {
	startController(t)
	ctx := context.Background()
	cases := []struct {
		name   string
		target *kustomize.Selector
		want   string
	}{
		{name: "target selects the ConfigMap", target: &kustomize.Selector{Kind: "ConfigMap", Name: "r-config"}, want: "edited"},
		{name: "target selects other objects", target: &kustomize.Selector{Kind: "Deployment"}, want: "hello"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			ns := env.NewNamespace(t)
			publishOpts(t, ns, "1.0.0", "")
			hr := newRelease(ns, "r", "opts", "")
			hr.Spec.DriftDetection = &helmv2.DriftDetection{Mode: helmv2.DriftDetectionEnabled,
				Ignore: []helmv2.IgnoreRule{{Paths: []string{"/data/message"}, Target: tc.target}}}
			g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
			eventuallyReady(t, hr, fieldsTimeout)

			g.Eventually(func() error {
				cm := &corev1.ConfigMap{}
				if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "r-config"}, cm); err != nil {
					return err
				}
				cm.Data["message"] = "edited"
				return env.Client.Update(ctx, cm)
			}, 10*time.Second).Should(Succeed())
			token := requestReconcile(t, hr)
			g.Eventually(func(g Gomega) {
				g.Expect(getRelease(g, hr).Status.LastHandledReconcileAt).To(Equal(token))
				g.Expect(configMap(t, ns, "r-config").Data["message"]).To(Equal(tc.want))
			}, fieldsTimeout, 250*time.Millisecond).Should(Succeed())
		})
	}
}
