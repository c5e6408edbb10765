package controller

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
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

var azureTestKey = base64.StdEncoding.EncodeToString([]byte("azure-account-key-for-tests"))

// newAzureBlobForTest is a Blob server holding container "manifests",
// accepting the test account key, SAS signature "sas-sig" and the Entra
// tokens of the applications app-1 and wi-app.
func newAzureBlobForTest(t *testing.T) *testserver.AzureBlob {
	a := testserver.NewAzureBlobForTest(t, testserver.AzureBlobOptions{Account: "gotkstore", AccountKey: azureTestKey,
		SASSignature: "sas-sig", Tokens: []string{"entra.app-1", "entra.wi-app"}})
	a.CreateContainer("manifests")
	for key, content := range map[string]string{"prod/a.yaml": "a: 1\n", "prod/b.yaml": "b: 1\n", "prod/c/d.yaml": "d: 1\n", "dev/x.yaml": "x"} {
		a.PutBlob("manifests", key, content)
	}
	return a
}

// TestBucketAzure syncs an Azure Blob container with provider azure,
// signed with secretRef's accountKey (Shared Key, which the server
// verifies) and with its sasKey; listing pages through the server's
// markers under the prefix. A wrong key is refused.
func TestBucketAzure(t *testing.T) {
	g := NewWithT(t)
	startOCIHarness(t)
	ctx := context.Background()
	blob := newAzureBlobForTest(t)
	ns := env.NewNamespace(t)
	wrongKey := base64.StdEncoding.EncodeToString([]byte("not-the-account-key"))
	for name, data := range map[string]map[string]string{
		"shared-key": {"accountKey": azureTestKey},
		"sas":        {"sasKey": "?sv=2023-11-03&ss=b&srt=co&sp=rl&sig=sas-sig"},
		"wrong-key":  {"accountKey": wrongKey},
	} {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, StringData: data}
		g.Expect(env.Client.Create(ctx, s)).To(Succeed())
	}
	for _, tc := range []struct{ name, secret, prefix, auth string }{
		{name: "shared-key", secret: "shared-key", prefix: "prod/", auth: "sharedkey"},
		{name: "sas", secret: "sas", auth: "sas"},
	} {
		b := newBucket(ns, tc.name, sourcev1.BucketProviderAzure, blob.Endpoint(), "manifests")
		b.Spec.Prefix = tc.prefix
		b.Spec.SecretRef = &meta.LocalObjectReference{Name: tc.secret}
		g.Expect(env.Client.Create(ctx, b)).To(Succeed())
		waitSourceReady(g, b, func(g Gomega) { g.Expect(b.Status.Artifact).NotTo(BeNil()) })
		want := []string{"prod/a.yaml", "prod/b.yaml", "prod/c/d.yaml"}
		if tc.prefix == "" {
			want = append([]string{"dev/x.yaml"}, want...)
		}
		g.Expect(fetchFiles(g, b.Status.Artifact)).To(Equal(want), tc.name)
		g.Expect(fetchFile(g, b.Status.Artifact, "prod/c/d.yaml")).To(Equal("d: 1\n"))
		g.Expect(blob.Auths()).To(ContainElement(tc.auth))
	}
	wrong := newBucket(ns, "wrong-key", sourcev1.BucketProviderAzure, blob.Endpoint(), "manifests")
	wrong.Spec.SecretRef = &meta.LocalObjectReference{Name: "wrong-key"}
	g.Expect(env.Client.Create(ctx, wrong)).To(Succeed())
	waitNotReady(g, wrong, sourcev1.AuthenticationFailedReason, "refused the credentials for bucket 'manifests'")
	g.Expect(wrong.Status.Conditions[0].Message).NotTo(ContainSubstring(wrongKey))
}

// TestBucketAzureEntra lists a container with Microsoft Entra tokens: a
// service principal's client secret from secretRef (at its
// authorityHost), and the controller's own workload identity (a
// federated token file) with no secretRef.
func TestBucketAzureEntra(t *testing.T) {
	ctx := context.Background()
	blob := newAzureBlobForTest(t)
	cloud := testserver.NewCloudTokensForTest(t, "")
	testserver.IsolateCloudEnv(t)
	ns := env.NewNamespace(t)
	NewWithT(t).Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sp", Namespace: ns}, StringData: map[string]string{
		"tenantId": testserver.CloudAzureTenant, "clientId": "app-1", "clientSecret": testserver.CloudAzureClientSecret,
		"authorityHost": testserver.CloudAzureAuthority}})).To(Succeed())
	r := &BucketReconciler{Client: env.Client, TokenHTTPClient: cloud.Client}

	t.Run("client secret", func(t *testing.T) {
		g := NewWithT(t)
		b := newBucket(ns, "sp", sourcev1.BucketProviderAzure, blob.Endpoint(), "manifests")
		b.Spec.SecretRef = &meta.LocalObjectReference{Name: "sp"}
		g.Expect(connectAndList(ctx, r, b)).To(BeNil())
		g.Expect(cloud.Calls()).To(ContainElement("entra:app-1 https://storage.azure.com/.default"))
		g.Expect(blob.Auths()).To(ContainElement("bearer:entra.app-1"))
	})
	t.Run("workload identity of the controller", func(t *testing.T) {
		g := NewWithT(t)
		tokenFile := filepath.Join(t.TempDir(), "azure-token")
		g.Expect(os.WriteFile(tokenFile, []byte(testserver.CloudAzureAssertion), 0o600)).To(Succeed())
		t.Setenv("AZURE_CLIENT_ID", "wi-app")
		t.Setenv("AZURE_TENANT_ID", testserver.CloudAzureTenant)
		t.Setenv("AZURE_FEDERATED_TOKEN_FILE", tokenFile)
		t.Setenv("AZURE_AUTHORITY_HOST", testserver.CloudAzureAuthority)
		b := newBucket(ns, "wi", sourcev1.BucketProviderAzure, blob.Endpoint(), "manifests")
		g.Expect(connectAndList(ctx, r, b)).To(BeNil())
		g.Expect(blob.Auths()).To(ContainElement("bearer:entra.wi-app"))
	})
}

// TestBucketAzureErrors: each bad credential, container or endpoint of
// provider azure gives its reason and message.
func TestBucketAzureErrors(t *testing.T) {
	ctx := context.Background()
	blob := newAzureBlobForTest(t)
	cloud := testserver.NewCloudTokensForTest(t, "")
	testserver.IsolateCloudEnv(t)
	ns := env.NewNamespace(t)
	for name, data := range map[string]map[string]string{
		"good":       {"accountKey": azureTestKey},
		"wrong-key":  {"accountKey": base64.StdEncoding.EncodeToString([]byte("other"))},
		"wrong-sas":  {"sasKey": "sv=2023-11-03&sig=forged"},
		"not-sas":    {"sasKey": "sv=2023-11-03"},
		"wrong-sp":   {"tenantId": testserver.CloudAzureTenant, "clientId": "app-1", "clientSecret": "nope", "authorityHost": testserver.CloudAzureAuthority},
		"incomplete": {"tenantId": testserver.CloudAzureTenant, "clientId": "app-1"},
		"bad-cert":   {"tenantId": testserver.CloudAzureTenant, "clientId": "app-1", "clientCertificate": "not a PEM"},
	} {
		NewWithT(t).Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, StringData: data})).To(Succeed())
	}
	NewWithT(t).Expect(env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "plain", Namespace: ns}})).To(Succeed())
	base := newBucket(ns, "blob", sourcev1.BucketProviderAzure, blob.Endpoint(), "manifests")
	base.Spec.SecretRef = &meta.LocalObjectReference{Name: "good"}
	secret := func(name string) func(*sourcev1.Bucket) {
		return func(b *sourcev1.Bucket) { b.Spec.SecretRef = &meta.LocalObjectReference{Name: name} }
	}
	withSA := func(b *sourcev1.Bucket) { b.Spec.SecretRef = nil; b.Spec.ServiceAccountName = "plain" }
	runBucketErrorCases(t, base, BucketReconciler{Client: env.Client, TokenHTTPClient: cloud.Client}, []bucketErrorCase{
		{name: "wrong account key", mutate: secret("wrong-key"), class: reconcile.Transient,
			reason: sourcev1.AuthenticationFailedReason, msg: "refused the credentials for bucket 'manifests'"},
		{name: "wrong SAS", mutate: secret("wrong-sas"), class: reconcile.Transient,
			reason: sourcev1.AuthenticationFailedReason, msg: "AuthenticationFailed"},
		{name: "sasKey without sig", mutate: secret("not-sas"), class: reconcile.Stalling,
			reason: sourcev1.URLInvalidReason, msg: "sasKey is not a SAS token"},
		{name: "client secret refused by Entra", mutate: secret("wrong-sp"), class: reconcile.Transient,
			reason: sourcev1.AuthenticationFailedReason, msg: "Invalid client secret"},
		{name: "no usable key combination", mutate: secret("incomplete"), class: reconcile.Stalling,
			reason: sourcev1.AuthenticationFailedReason, msg: "provider azure needs 'accountKey', 'sasKey'"},
		{name: "client certificate not PEM", mutate: secret("bad-cert"), class: reconcile.Stalling,
			reason: sourcev1.AuthenticationFailedReason, msg: "secret 'bad-cert': clientCertificate holds no certificate and private key"},
		{name: "container missing", mutate: func(b *sourcev1.Bucket) { b.Spec.BucketName = "absent" }, class: reconcile.Transient,
			reason: sourcev1.BucketOperationFailedReason, msg: "bucket 'absent' not found at endpoint"},
		{name: "endpoint names no account", mutate: func(b *sourcev1.Bucket) { b.Spec.Endpoint = strings.TrimSuffix(blob.Endpoint(), "/gotkstore") },
			class: reconcile.Stalling, reason: sourcev1.URLInvalidReason, msg: "names no storage account"},
		{name: "endpoint unreachable", mutate: func(b *sourcev1.Bucket) { b.Spec.Endpoint = "http://127.0.0.1:1/gotkstore" }, class: reconcile.Transient,
			reason: sourcev1.BucketOperationFailedReason, msg: "127.0.0.1:1"},
		{name: "workload identity gate off", mutate: withSA, class: reconcile.Stalling,
			reason: meta.FeatureGateDisabledReason, msg: "spec.serviceAccountName with provider azure needs the ObjectLevelWorkloadIdentity feature gate"},
		{name: "ServiceAccount without Entra annotations", mutate: withSA, gate: true, class: reconcile.Stalling,
			reason: sourcev1.InvalidProviderConfigurationReason, msg: cloudauth.AnnotationAzureClientID},
	})
}
