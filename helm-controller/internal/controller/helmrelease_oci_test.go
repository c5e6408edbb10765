package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
)

// TestOCIRepositoryChartRefAndForce: a chart from an OCIRepository
// artifact installs with the digest in lastAttemptedRevision and the
// snapshot; a new artifact of the same chart version upgrades (chart
// digest tracking); forceAt upgrades an unchanged release once.
func TestOCIRepositoryChartRefAndForce(t *testing.T) {
	startController(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)

	repo := &sourcev1.OCIRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app-oci"},
		Spec:       sourcev1.OCIRepositorySpec{URL: "oci://registry.example.com/charts/app", Interval: metav1.Duration{Duration: time.Hour}},
	}
	g.Expect(env.Client.Create(ctx, repo)).To(Succeed())
	publishOCI := func(data []byte) string {
		url, digest, size, err := artifacts.AddBytes("ocirepository/"+ns+"/app-oci/"+strings.TrimPrefix(digestOf(data), "sha256:")+".tgz", data)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "app-oci"}, repo)).To(Succeed())
		repo.Status.Artifact = &meta.Artifact{Path: "ocirepository/x.tgz", URL: url, Revision: "1.0.0@" + digest,
			Digest: digest, LastUpdateTime: metav1.Now(), Size: &size}
		g.Expect(env.Client.Status().Update(ctx, repo)).To(Succeed())
		return digest
	}
	first := publishOCI(appChart(t, "1.0.0"))

	hr := newRelease(ns, "oci", "app-oci", "")
	hr.Spec.ChartRef.Kind = sourcev1.OCIRepositoryKind
	g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
	got := eventuallyReady(t, hr, 90*time.Second)
	g.Expect(got.Status.LastAttemptedRevision).To(Equal("1.0.0+" + strings.TrimPrefix(first, "sha256:")[:12]))
	g.Expect(got.Status.History.Latest().OCIDigest).To(Equal(first))

	// Same chart version, new content: the source watch brings it in.
	second := publishOCI(packageChartWithMessage(t, "changed"))
	g.Eventually(func(g Gomega) {
		got := getRelease(g, hr)
		g.Expect(got.Status.History.Latest().OCIDigest).To(Equal(second))
		g.Expect(got.Status.History.Latest().Version).To(Equal(2))
	}, 90*time.Second, 250*time.Millisecond).Should(Succeed())
	var cm corev1.ConfigMap
	g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "oci-config"}, &cm)).To(Succeed())
	g.Expect(cm.Data["message"]).To(Equal("changed"))
	eventuallyReady(t, hr, 30*time.Second)

	// forceAt (equal to requestedAt) upgrades once although nothing changed.
	requestReconcile(t, hr, helmv2.ForceRequestAnnotation)
	g.Eventually(func(g Gomega) {
		g.Expect(getRelease(g, hr).Status.History.Latest().Version).To(Equal(3))
	}, 60*time.Second, 250*time.Millisecond).Should(Succeed())
	got = eventuallyReady(t, hr, 30*time.Second)
	g.Expect(got.Status.LastHandledForceAt).NotTo(BeEmpty())
}

// packageChartWithMessage is appChart 1.0.0 with another default message.
func packageChartWithMessage(t *testing.T, msg string) []byte {
	return packageChart(t, "app", "1.0.0", map[string]string{
		"values.yaml":              "message: " + msg + "\n",
		"templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  message: {{ .Values.message | quote }}\n",
	})
}
