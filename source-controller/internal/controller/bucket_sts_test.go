package controller

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testserver"
)

// TestBucketSTSValidation: spec.sts combinations Flux does not accept
// stall with InvalidSTSConfiguration naming the problem; the API server
// already refuses the provider mismatches at admission.
func TestBucketSTSValidation(t *testing.T) {
	ctx := context.Background()
	ns := env.NewNamespace(t)
	ref := &meta.LocalObjectReference{Name: "creds"}
	sts := func(provider, stsProvider, endpoint string, secret, cert *meta.LocalObjectReference) func(*sourcev1.Bucket) {
		return func(b *sourcev1.Bucket) {
			b.Spec.Provider = provider
			b.Spec.STS = &sourcev1.BucketSTSSpec{Provider: stsProvider, Endpoint: endpoint, SecretRef: secret, CertSecretRef: cert}
		}
	}
	const ep = "https://sts.example.com"
	base := newBucket(ns, "sts", sourcev1.BucketProviderGeneric, "127.0.0.1:1", "manifests")
	cases := []bucketErrorCase{
		{name: "gcp", mutate: sts("gcp", "aws", ep, nil, nil), msg: "spec.sts is not supported for the 'gcp' bucket provider"},
		{name: "azure", mutate: sts("azure", "ldap", ep, ref, nil), msg: "spec.sts is not supported for the 'azure' bucket provider"},
		{name: "aws with ldap", mutate: sts("aws", "ldap", ep, ref, nil), msg: "STS provider 'ldap' is not supported for the 'aws' bucket provider (use 'aws')"},
		{name: "generic with aws", mutate: sts("generic", "aws", ep, nil, nil), msg: "STS provider 'aws' is not supported for the 'generic' bucket provider (use 'ldap')"},
		{name: "missing endpoint", mutate: sts("aws", "aws", "", nil, nil), msg: "spec.sts.endpoint is required"},
		{name: "endpoint not http", mutate: sts("generic", "ldap", "ftp://sts", ref, nil), msg: `spec.sts.endpoint "ftp://sts" is not an http(s) URL`},
		{name: "aws with secretRef", mutate: sts("aws", "aws", ep, ref, nil), msg: "spec.sts.secretRef is not required for the 'aws' STS provider"},
		{name: "aws with certSecretRef", mutate: sts("aws", "aws", ep, nil, ref), msg: "spec.sts.certSecretRef is not required for the 'aws' STS provider"},
		{name: "ldap without secretRef", mutate: sts("generic", "ldap", ep, nil, nil), msg: "spec.sts.secretRef (with 'username' and 'password') is required"},
	}
	for i := range cases {
		cases[i].class, cases[i].reason = reconcile.Stalling, sourcev1.InvalidSTSConfigurationReason
	}
	runBucketErrorCases(t, base, BucketReconciler{Client: env.Client}, cases)

	g := NewWithT(t)
	bad := base.DeepCopy()
	sts("gcp", "aws", ep, nil, nil)(bad)
	err := env.Client.Create(ctx, bad)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("STS configuration is only supported for the 'aws' and 'generic' Bucket providers"))
}

// TestBucketSTSLDAP syncs a generic bucket with spec.sts ldap: the LDAP
// username and password of spec.sts.secretRef are exchanged at a MinIO
// STS (over TLS trusted through spec.sts.certSecretRef) for the only keys
// the S3 server accepts. Bad credentials or an unreachable STS are
// reported as authentication failures naming the STS.
func TestBucketSTSLDAP(t *testing.T) {
	g := NewWithT(t)
	startOCIHarness(t)
	ctx := context.Background()
	const accessKey, secretKey = "LDAPTEMPKEY", "ldap-temp-secret"
	s3 := testserver.NewS3ForTest(t, testserver.S3Options{AccessKey: accessKey, SecretKey: secretKey})
	g.Expect(s3.CreateBucket("manifests")).To(Succeed())
	g.Expect(s3.PutObject("manifests", "app.yaml", "kind: ConfigMap\n")).To(Succeed())
	sts := testserver.NewLDAPSTSForTest(t, testserver.LDAPSTSOptions{Username: "alice", Password: "ldap-pass",
		AccessKey: accessKey, SecretKey: secretKey, TLS: true})
	ns := env.NewNamespace(t)
	for name, data := range map[string]map[string][]byte{
		"ldap":       {"username": []byte("alice"), "password": []byte("ldap-pass")},
		"ldap-wrong": {"username": []byte("alice"), "password": []byte("wrong")},
		"ldap-half":  {"username": []byte("alice")},
		"sts-ca":     {"ca.crt": sts.CAPEM},
	} {
		g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: data})).To(Succeed())
	}
	b := newBucket(ns, "ldap", sourcev1.BucketProviderGeneric, s3.Endpoint(), "manifests")
	b.Spec.STS = &sourcev1.BucketSTSSpec{Provider: sourcev1.STSProviderLDAP, Endpoint: sts.URL,
		SecretRef: &meta.LocalObjectReference{Name: "ldap"}, CertSecretRef: &meta.LocalObjectReference{Name: "sts-ca"}}
	g.Expect(env.Client.Create(ctx, b)).To(Succeed())
	waitSourceReady(g, b, func(g Gomega) { g.Expect(b.Status.Artifact).NotTo(BeNil()) })
	g.Expect(fetchFile(g, b.Status.Artifact, "app.yaml")).To(Equal("kind: ConfigMap\n"))
	g.Expect(sts.Users()).To(ContainElement("alice"))

	runBucketErrorCases(t, b, BucketReconciler{Client: env.Client}, []bucketErrorCase{
		{name: "wrong password", mutate: func(b *sourcev1.Bucket) { b.Spec.STS.SecretRef.Name = "ldap-wrong" }, class: reconcile.Transient,
			reason: sourcev1.AuthenticationFailedReason, msg: "STS ldap at " + sts.URL + ": Access denied"},
		{name: "no password", mutate: func(b *sourcev1.Bucket) { b.Spec.STS.SecretRef.Name = "ldap-half" }, class: reconcile.Stalling,
			reason: sourcev1.InvalidSTSConfigurationReason, msg: "secret 'ldap-half' of spec.sts.secretRef needs both 'username' and 'password'"},
		{name: "STS certificate not trusted", mutate: func(b *sourcev1.Bucket) { b.Spec.STS.CertSecretRef = nil }, class: reconcile.Transient,
			reason: sourcev1.AuthenticationFailedReason, msg: "certificate"},
		{name: "STS unreachable", mutate: func(b *sourcev1.Bucket) { b.Spec.STS.Endpoint = "http://127.0.0.1:1" }, class: reconcile.Transient,
			reason: sourcev1.AuthenticationFailedReason, msg: "STS ldap at http://127.0.0.1:1"},
	})
}

// TestBucketSTSAWS gets the S3 keys of provider aws from the AWS STS at
// spec.sts.endpoint (no STS endpoint in the environment): the web
// identity of spec.serviceAccountName, and the controller's own web
// identity token file through the controller. An unreachable STS is an
// authentication failure naming it.
func TestBucketSTSAWS(t *testing.T) {
	g := NewWithT(t)
	startOCIHarness(t)
	ctx := context.Background()
	s3 := testserver.NewS3ForTest(t, testserver.S3Options{AccessKey: testserver.CloudAWSSTSAccessKey, SecretKey: "web"})
	g.Expect(s3.CreateBucket("manifests")).To(Succeed())
	g.Expect(s3.PutObject("manifests", "app.yaml", "kind: ConfigMap\n")).To(Succeed())
	cloud := testserver.NewCloudTokensForTest(t, "")
	testserver.IsolateCloudEnv(t)
	cloud.UseForAWS(t)
	t.Setenv("AWS_ENDPOINT_URL_STS", "") // only spec.sts.endpoint leads to STS
	ns := env.NewNamespace(t)
	const role = "arn:aws:iam::111122223333:role/reader"
	g.Expect(env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reader",
		Annotations: map[string]string{cloudauth.AnnotationAWSRoleARN: role}}})).To(Succeed())
	b := newBucket(ns, "aws-sts", sourcev1.BucketProviderAmazon, s3.Endpoint(), "manifests")
	b.Spec.Region = "eu-west-1"
	b.Spec.STS = &sourcev1.BucketSTSSpec{Provider: sourcev1.STSProviderAmazon, Endpoint: cloud.URL}

	withSA := b.DeepCopy()
	withSA.Spec.ServiceAccountName = "reader"
	g.Expect(connectAndList(ctx, &BucketReconciler{Client: env.Client, WorkloadIdentity: true}, withSA)).To(BeNil())
	g.Expect(cloud.Calls()).To(ContainElement("sts:" + role))

	runBucketErrorCases(t, withSA, BucketReconciler{Client: env.Client}, []bucketErrorCase{
		{name: "STS unreachable", gate: true, mutate: func(b *sourcev1.Bucket) { b.Spec.STS.Endpoint = "https://127.0.0.1:1" }, class: reconcile.Transient,
			reason: sourcev1.AuthenticationFailedReason, msg: "no AWS credentials from STS https://127.0.0.1:1"},
	})

	const podRole = "arn:aws:iam::111122223333:role/controller"
	tokenFile := filepath.Join(t.TempDir(), "token")
	g.Expect(os.WriteFile(tokenFile, []byte(testserver.CloudAWSWebIdentityToken), 0o600)).To(Succeed())
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile)
	t.Setenv("AWS_ROLE_ARN", podRole)
	g.Expect(env.Client.Create(ctx, b)).To(Succeed())
	waitSourceReady(g, b, func(g Gomega) { g.Expect(b.Status.Artifact).NotTo(BeNil()) })
	g.Expect(fetchFile(g, b.Status.Artifact, "app.yaml")).To(Equal("kind: ConfigMap\n"))
	g.Expect(cloud.Calls()).To(ContainElement("sts:" + podRole))
}
