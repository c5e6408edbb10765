package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testserver"
)

// TestBucketAWSProvider syncs a Bucket with provider aws and no
// secretRef, signed with the controller's AWS keys from its environment,
// from an S3 server that checks the signature.
func TestBucketAWSProvider(t *testing.T) {
	g := NewWithT(t)
	startOCIHarness(t)
	ctx := context.Background()
	s3 := testserver.NewS3ForTest(t, testserver.S3Options{AccessKey: testserver.CloudAWSAccessKey, SecretKey: testserver.CloudAWSSecretKey})
	g.Expect(s3.CreateBucket("manifests")).To(Succeed())
	g.Expect(s3.PutObject("manifests", "app.yaml", "kind: ConfigMap\n")).To(Succeed())
	testserver.IsolateCloudEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", testserver.CloudAWSAccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testserver.CloudAWSSecretKey)

	ns := env.NewNamespace(t)
	b := &sourcev1.Bucket{ObjectMeta: metav1.ObjectMeta{Name: "s3", Namespace: ns}, Spec: sourcev1.BucketSpec{
		Provider: sourcev1.BucketProviderAmazon, BucketName: "manifests", Endpoint: s3.Endpoint(), Insecure: true, Region: "eu-west-1",
		Interval: metav1.Duration{Duration: time.Hour}}}
	g.Expect(env.Client.Create(ctx, b)).To(Succeed())
	waitSourceReady(g, b, func(g Gomega) { g.Expect(b.Status.Artifact).NotTo(BeNil()) })
	g.Expect(fetchFile(g, b.Status.Artifact, "app.yaml")).To(Equal("kind: ConfigMap\n"))
}

// TestBucketAWSWorkloadIdentity lists a bucket as spec.serviceAccountName:
// a token the API server mints for the ServiceAccount is exchanged at STS
// for the temporary keys the S3 server accepts. Without the gate, or
// without a role annotation, the Bucket is refused naming why.
func TestBucketAWSWorkloadIdentity(t *testing.T) {
	ctx := context.Background()
	s3 := testserver.NewS3ForTest(t, testserver.S3Options{AccessKey: testserver.CloudAWSSTSAccessKey, SecretKey: "web"})
	NewWithT(t).Expect(s3.CreateBucket("manifests")).To(Succeed())
	NewWithT(t).Expect(s3.PutObject("manifests", "app.yaml", "kind: ConfigMap\n")).To(Succeed())
	cloud := testserver.NewCloudTokensForTest(t, "")
	testserver.IsolateCloudEnv(t)
	cloud.UseForAWS(t)
	ns := env.NewNamespace(t)
	const role = "arn:aws:iam::111122223333:role/reader"
	for _, sa := range []*corev1.ServiceAccount{
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reader", Annotations: map[string]string{cloudauth.AnnotationAWSRoleARN: role}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "no-role"}},
	} {
		NewWithT(t).Expect(env.Client.Create(ctx, sa)).To(Succeed())
	}
	for _, tc := range []struct {
		name, sa string
		gate     bool
		class    reconcile.Class
		reason   string
		msg      string
	}{
		{name: "web identity of the ServiceAccount", sa: "reader", gate: true},
		{name: "gate off", sa: "reader", class: reconcile.Stalling, reason: meta.FeatureGateDisabledReason,
			msg: "spec.serviceAccountName with provider aws needs the ObjectLevelWorkloadIdentity feature gate"},
		{name: "no role annotation", sa: "no-role", gate: true, class: reconcile.Stalling, reason: sourcev1.InvalidProviderConfigurationReason,
			msg: "has no eks.amazonaws.com/role-arn annotation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			obj := &sourcev1.Bucket{ObjectMeta: metav1.ObjectMeta{Name: "s3", Namespace: ns}, Spec: sourcev1.BucketSpec{
				Provider: sourcev1.BucketProviderAmazon, BucketName: "manifests", Endpoint: s3.Endpoint(), Insecure: true,
				Region: "eu-west-1", ServiceAccountName: tc.sa}}
			c, err := (&BucketReconciler{Client: env.Client, WorkloadIdentity: tc.gate}).client(ctx, obj)
			if tc.reason != "" {
				g.Expect(err).To(HaveOccurred())
				e := reconcile.Classify(err, "")
				g.Expect([]any{e.Class, e.Reason}).To(Equal([]any{tc.class, tc.reason}))
				g.Expect(e.Error()).To(ContainSubstring(tc.msg))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			objects, err := c.List(ctx, "", nil)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(objects).To(HaveLen(1))
			g.Expect(objects[0].Key).To(Equal("app.yaml"))
			g.Expect(cloud.Calls()).To(ContainElement("sts:" + role))
		})
	}
}
