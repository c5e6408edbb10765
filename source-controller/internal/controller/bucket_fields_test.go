package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
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

// TestBucketRegion: spec.region is the region the S3 requests are signed
// for. Against an endpoint in eu-central-1 (which, like AWS, refuses a
// signature for any other region) a Bucket with that region is fetched
// with every request signed for it and no region lookup; a Bucket with
// another region is refused, and the Ready condition names both regions.
func TestBucketRegion(t *testing.T) {
	g := NewWithT(t)
	startOCIHarness(t)
	ctx := context.Background()
	const region = "eu-central-1"
	s3 := testserver.NewS3ForTest(t, testserver.S3Options{AccessKey: "AKID", SecretKey: "s3cret", Region: region})
	g.Expect(s3.CreateBucket("manifests")).To(Succeed())
	g.Expect(s3.PutObject("manifests", "app.yaml", "replicas: 1\n")).To(Succeed())
	ns := env.NewNamespace(t)
	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "keys", Namespace: ns},
		Data: map[string][]byte{"accesskey": []byte("AKID"), "secretkey": []byte("s3cret")}})).To(Succeed())
	newBucket := func(name, region string) *sourcev1.Bucket {
		return &sourcev1.Bucket{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: sourcev1.BucketSpec{
			BucketName: "manifests", Endpoint: s3.Endpoint(), Insecure: true, Region: region,
			SecretRef: &meta.LocalObjectReference{Name: "keys"}, Interval: metav1.Duration{Duration: time.Hour}}}
	}

	b := newBucket("right", region)
	g.Expect(env.Client.Create(ctx, b)).To(Succeed())
	waitSourceReady(g, b, func(g Gomega) { g.Expect(b.Status.Artifact).NotTo(BeNil()) })
	g.Expect(fetchFile(g, b.Status.Artifact, "app.yaml")).To(Equal("replicas: 1\n"))
	signed := s3.SigningRegions()
	g.Expect(signed).NotTo(BeEmpty())
	g.Expect(signed).To(HaveEach(region), "every request signed for spec.region, none for a us-east-1 location lookup")

	wrong := newBucket("wrong", "us-west-2")
	g.Expect(env.Client.Create(ctx, wrong)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(wrong), wrong)).To(Succeed())
		g.Expect(conditions.IsFalse(wrong, meta.ReadyCondition)).To(BeTrue())
		g.Expect(conditions.GetReason(wrong, meta.ReadyCondition)).To(Equal(sourcev1.BucketOperationFailedReason))
		g.Expect(conditions.GetMessage(wrong, meta.ReadyCondition)).To(Equal("endpoint " + s3.Endpoint() +
			" refused requests signed for region 'us-west-2': bucket 'manifests' is in region 'eu-central-1' (spec.region)"))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Expect(wrong.Status.Artifact).To(BeNil())
	g.Expect(s3.SigningRegions()).To(ContainElement("us-west-2"))
}
