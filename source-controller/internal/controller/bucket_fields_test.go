package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testserver"
)

// TestBucketSuspend: a suspended Bucket stores nothing until resumed.
func TestBucketSuspend(t *testing.T) {
	g := NewWithT(t)
	startOCIHarness(t)
	ctx := context.Background()
	s3 := testserver.NewS3ForTest(t, testserver.S3Options{AccessKey: "AKID", SecretKey: "s3cret"})
	g.Expect(s3.CreateBucket("manifests")).To(Succeed())
	g.Expect(s3.PutObject("manifests", "app.yaml", "replicas: 1\n")).To(Succeed())
	ns := env.NewNamespace(t)
	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "keys", Namespace: ns},
		Data: map[string][]byte{"accesskey": []byte("AKID"), "secretkey": []byte("s3cret")}})).To(Succeed())
	b := &sourcev1.Bucket{ObjectMeta: metav1.ObjectMeta{Name: "held", Namespace: ns}, Spec: sourcev1.BucketSpec{
		BucketName: "manifests", Endpoint: s3.Endpoint(), Insecure: true, Suspend: true,
		SecretRef: &meta.LocalObjectReference{Name: "keys"}, Interval: metav1.Duration{Duration: time.Hour}}}
	g.Expect(env.Client.Create(ctx, b)).To(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(b), b)).To(Succeed())
		g.Expect(b.Status.Artifact).To(BeNil())
	}, 3*time.Second, 200*time.Millisecond).Should(Succeed())

	g.Eventually(func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(b), b); err != nil {
			return err
		}
		b.Spec.Suspend = false
		return env.Client.Update(ctx, b)
	}, 10*time.Second).Should(Succeed())
	waitSourceReady(g, b, func(g Gomega) { g.Expect(b.Status.Artifact).NotTo(BeNil()) })
	g.Expect(fetchFile(g, b.Status.Artifact, "app.yaml")).To(Equal("replicas: 1\n"))
}
