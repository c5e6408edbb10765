package controller

import (
	"context"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testserver"
)

// TestBucketGCP syncs a GCS bucket with provider gcp: as the service
// account of secretRef's key (exchanged at the key's token endpoint for
// the token the server checks), and with no secretRef as the metadata
// server's default service account. Listing pages through the server's
// small pages under the prefix.
func TestBucketGCP(t *testing.T) {
	g := NewWithT(t)
	startOCIHarness(t)
	ctx := context.Background()
	const metadataToken = "gce-metadata-token"
	gcs := testserver.NewGCSForTest(t, testserver.GCSOptions{Tokens: []string{metadataToken}})
	gcs.CreateBucket("manifests")
	for key, content := range map[string]string{"prod/a.yaml": "a: 1\n", "prod/b.yaml": "b: 1\n", "prod/c/d.yaml": "d: 1\n", "dev/x.yaml": "x"} {
		gcs.PutObject("manifests", key, content)
	}
	cloud := testserver.NewCloudTokensForTest(t, metadataToken)
	testserver.IsolateCloudEnv(t)
	t.Setenv("GCE_METADATA_HOST", cloud.MetadataHost)

	ns := env.NewNamespace(t)
	const email = "reader@project.iam.gserviceaccount.com"
	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "gcp-sa", Namespace: ns},
		Data: map[string][]byte{"serviceaccount": gcs.ServiceAccountJSON(email)}})).To(Succeed())

	withKey := newBucket(ns, "with-key", sourcev1.BucketProviderGoogle, gcs.Endpoint(), "manifests")
	withKey.Spec.Prefix = "prod/"
	withKey.Spec.SecretRef = &meta.LocalObjectReference{Name: "gcp-sa"}
	g.Expect(env.Client.Create(ctx, withKey)).To(Succeed())
	waitSourceReady(g, withKey, func(g Gomega) { g.Expect(withKey.Status.Artifact).NotTo(BeNil()) })
	g.Expect(fetchFile(g, withKey.Status.Artifact, "prod/c/d.yaml")).To(Equal("d: 1\n"))
	g.Expect(fetchFiles(g, withKey.Status.Artifact)).To(Equal([]string{"prod/a.yaml", "prod/b.yaml", "prod/c/d.yaml"}))
	g.Expect(gcs.Calls()).To(ContainElement("token:" + email))
	pages := 0
	for _, c := range gcs.Calls() {
		if c == "list:manifests" {
			pages++
		}
	}
	g.Expect(pages).To(BeNumerically(">=", 2), "three objects under the prefix, two a page")

	adc := newBucket(ns, "metadata", sourcev1.BucketProviderGoogle, gcs.Endpoint(), "manifests")
	g.Expect(env.Client.Create(ctx, adc)).To(Succeed())
	waitSourceReady(g, adc, func(g Gomega) { g.Expect(adc.Status.Artifact).NotTo(BeNil()) })
	g.Expect(fetchFile(g, adc.Status.Artifact, "dev/x.yaml")).To(Equal("x"))
	g.Expect(cloud.Calls()).To(ContainElement("metadata:default"))
	g.Expect(adc.Status.Artifact.Revision).NotTo(Equal(withKey.Status.Artifact.Revision))

	// A refused key is reported through the controller too, without the key.
	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "unknown-sa", Namespace: ns},
		Data: map[string][]byte{"serviceaccount": gcs.UnknownServiceAccountJSON(email)}})).To(Succeed())
	refused := newBucket(ns, "refused", sourcev1.BucketProviderGoogle, gcs.Endpoint(), "manifests")
	refused.Spec.SecretRef = &meta.LocalObjectReference{Name: "unknown-sa"}
	g.Expect(env.Client.Create(ctx, refused)).To(Succeed())
	waitNotReady(g, refused, sourcev1.AuthenticationFailedReason, "refused the credentials for bucket 'manifests'")
}

// TestBucketGCPErrors: each bad credential, bucket or endpoint of
// provider gcp gives its reason and message.
func TestBucketGCPErrors(t *testing.T) {
	ctx := context.Background()
	gcs := testserver.NewGCSForTest(t, testserver.GCSOptions{})
	gcs.CreateBucket("manifests")
	cloud := testserver.NewCloudTokensForTest(t, "metadata-token-the-server-does-not-accept")
	testserver.IsolateCloudEnv(t)
	t.Setenv("GCE_METADATA_HOST", cloud.MetadataHost)
	ns := env.NewNamespace(t)
	for name, data := range map[string]map[string][]byte{
		"good":     {"serviceaccount": gcs.ServiceAccountJSON("reader@project.iam.gserviceaccount.com")},
		"unknown":  {"serviceaccount": gcs.UnknownServiceAccountJSON("other@project.iam.gserviceaccount.com")},
		"not-json": {"serviceaccount": []byte("{not json")},
		"no-key":   {"accesskey": []byte("AKID")},
	} {
		NewWithT(t).Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: data})).To(Succeed())
	}
	NewWithT(t).Expect(env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "reader", Namespace: ns}})).To(Succeed())
	base := newBucket(ns, "gcs", sourcev1.BucketProviderGoogle, gcs.Endpoint(), "manifests")
	base.Spec.SecretRef = &meta.LocalObjectReference{Name: "good"}
	secret := func(name string) func(*sourcev1.Bucket) {
		return func(b *sourcev1.Bucket) { b.Spec.SecretRef = &meta.LocalObjectReference{Name: name} }
	}
	runBucketErrorCases(t, base, BucketReconciler{Client: env.Client}, []bucketErrorCase{
		{name: "key the token endpoint refuses", mutate: secret("unknown"), class: reconcile.Transient,
			reason: sourcev1.AuthenticationFailedReason, msg: "refused the credentials for bucket 'manifests'"},
		{name: "secret without serviceaccount", mutate: secret("no-key"), class: reconcile.Stalling,
			reason: sourcev1.AuthenticationFailedReason, msg: "secret 'no-key' needs a 'serviceaccount' key"},
		{name: "serviceaccount not JSON", mutate: secret("not-json"), class: reconcile.Stalling,
			reason: sourcev1.AuthenticationFailedReason, msg: "GCP service account key (JSON, type service_account)"},
		{name: "secret missing", mutate: secret("absent"), class: reconcile.Transient,
			reason: sourcev1.AuthenticationFailedReason, msg: "secret 'absent' not found"},
		{name: "metadata token refused", mutate: func(b *sourcev1.Bucket) { b.Spec.SecretRef = nil }, class: reconcile.Transient,
			reason: sourcev1.AuthenticationFailedReason, msg: "refused the credentials"},
		{name: "bucket missing", mutate: func(b *sourcev1.Bucket) { b.Spec.BucketName = "absent" }, class: reconcile.Transient,
			reason: sourcev1.BucketOperationFailedReason, msg: "bucket 'absent' not found at endpoint " + gcs.Endpoint()},
		{name: "endpoint unreachable", mutate: func(b *sourcev1.Bucket) { b.Spec.Endpoint = "127.0.0.1:1" }, class: reconcile.Transient,
			reason: sourcev1.BucketOperationFailedReason, msg: "127.0.0.1:1"},
		{name: "workload identity gate off", mutate: func(b *sourcev1.Bucket) { b.Spec.SecretRef = nil; b.Spec.ServiceAccountName = "reader" },
			class: reconcile.Stalling, reason: meta.FeatureGateDisabledReason, msg: "ObjectLevelWorkloadIdentity"},
		{name: "workload identity not for gcp", gate: true, mutate: func(b *sourcev1.Bucket) { b.Spec.SecretRef = nil; b.Spec.ServiceAccountName = "reader" },
			class: reconcile.Stalling, reason: sourcev1.InvalidProviderConfigurationReason, msg: "not supported for GCP yet"},
	})
}
