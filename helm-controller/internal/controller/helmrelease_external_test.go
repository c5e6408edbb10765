package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
)

// TestExternalArtifactChartRef: a chartRef to an ExternalArtifact waits
// for its artifact, installs the packaged chart in it with the digest in
// lastAttemptedRevision, and a new artifact of the same chart version is
// brought in by the watch and upgraded; deleting uninstalls.
func TestExternalArtifactChartRef(t *testing.T) {
	startController(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)

	ea := &sourcev1.ExternalArtifact{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app-ext"}}
	g.Expect(env.Client.Create(ctx, ea)).To(Succeed())
	publish := func(data []byte) string {
		url, digest, size, err := artifacts.AddBytes("externalartifact/"+ns+"/app-ext/"+strings.TrimPrefix(digestOf(data), "sha256:")+".tgz", data)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "app-ext"}, ea)).To(Succeed())
		ea.Status.Artifact = &meta.Artifact{Path: "externalartifact/x.tgz", URL: url, Revision: "latest@" + digest,
			Digest: digest, LastUpdateTime: metav1.Now(), Size: &size}
		g.Expect(env.Client.Status().Update(ctx, ea)).To(Succeed())
		return digest
	}

	hr := newRelease(ns, "ext", "app-ext", "")
	hr.Spec.ChartRef.Kind = sourcev1.ExternalArtifactKind
	g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
	got := eventuallyCondition(t, hr, meta.ReadyCondition, false, helmv2.ArtifactFailedReason, 30*time.Second)
	g.Expect(conditions.GetMessage(got, meta.ReadyCondition)).To(ContainSubstring("chart source ExternalArtifact '" + ns + "/app-ext' has no artifact yet"))

	first := publish(appChart(t, "1.0.0"))
	got = eventuallyReady(t, hr, 90*time.Second)
	g.Expect(got.Status.LastAttemptedRevision).To(Equal("1.0.0+" + strings.TrimPrefix(first, "sha256:")[:12]))
	g.Expect(got.Status.LastAttemptedRevisionDigest).To(Equal(first))
	g.Expect(got.Status.History.Latest().OCIDigest).To(Equal(first))

	// Same chart version, new content: the ExternalArtifact watch brings it in.
	second := publish(packageChartWithMessage(t, "from the generator"))
	g.Eventually(func(g Gomega) {
		got := getRelease(g, hr)
		g.Expect(got.Status.History.Latest().OCIDigest).To(Equal(second))
		g.Expect(got.Status.History.Latest().Version).To(Equal(2))
	}, 90*time.Second, 250*time.Millisecond).Should(Succeed())
	var cm corev1.ConfigMap
	g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "ext-config"}, &cm)).To(Succeed())
	g.Expect(cm.Data["message"]).To(Equal("from the generator"))
	eventuallyReady(t, hr, 30*time.Second)

	g.Expect(env.Client.Delete(ctx, hr)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "ext"}, &helmv2.HelmRelease{}))
	}, 60*time.Second).Should(BeTrue())
	g.Expect(releaseHistory(t, hr)).To(BeEmpty())
}
