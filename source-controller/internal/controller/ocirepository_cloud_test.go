package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/google/go-containerregistry/pkg/authn"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/testserver"
)

// waitNotReady waits for Ready=False with reason and a message holding msg.
func waitNotReady(g Gomega, obj client.Object, reason, msg string) {
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)).To(Succeed())
		getter := obj.(conditions.Getter)
		g.Expect(conditions.IsFalse(getter, meta.ReadyCondition)).To(BeTrue())
		g.Expect(conditions.GetReason(getter, meta.ReadyCondition)).To(Equal(reason))
		g.Expect(conditions.GetMessage(getter, meta.ReadyCondition)).To(ContainSubstring(msg))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
}

// TestOCIRepositoryCloudProvider pulls from Artifact Registry with
// provider gcp: the metadata server's token is the password of a
// registry (reached through spec.proxySecretRef under its Google host
// name) that accepts only it. A ServiceAccount without the
// ObjectLevelWorkloadIdentity gate, and a registry of another provider
// (also for an OCI HelmRepository's chart), are refused naming them.
func TestOCIRepositoryCloudProvider(t *testing.T) {
	g := NewWithT(t)
	startOCIHarness(t)
	ctx := context.Background()
	const token, garHost = "gar-access-token", "europe-west1-docker.pkg.dev"
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{Auth: testserver.BasicAuth{Username: "oauth2accesstoken", Password: token}})
	d := pushArtifact(t, reg.Host()+"/project/repo/manifests:v1", map[string]string{"app.yaml": "kind: ConfigMap\n"}, "main@sha1:2222", false,
		&authn.Basic{Username: "oauth2accesstoken", Password: token})
	proxy := testserver.NewForwardProxyForTest(t, reg.Host())
	cloud := testserver.NewCloudTokensForTest(t, token)
	testserver.IsolateCloudEnv(t)
	t.Setenv("GCE_METADATA_HOST", cloud.MetadataHost)

	ns := env.NewNamespace(t)
	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "proxy"},
		Data: map[string][]byte{"address": []byte(proxy.URL)}})).To(Succeed())

	gar := newOCIRepository(ns, "gar", "oci://"+garHost+"/project/repo/manifests", &sourcev1.OCIRepositoryRef{Tag: "v1"})
	gar.Spec.Provider = sourcev1.GoogleOCIProvider
	gar.Spec.ProxySecretRef = &meta.LocalObjectReference{Name: "proxy"}
	g.Expect(env.Client.Create(ctx, gar)).To(Succeed())
	waitOCIReady(g, gar, "v1@"+d)
	g.Expect(fetchFile(g, gar.Status.Artifact, "app.yaml")).To(Equal("kind: ConfigMap\n"))
	g.Expect(cloud.Calls()).To(ContainElement("metadata:default"))
	g.Expect(proxy.Proxied(garHost)).To(BeTrue())

	withSA := newOCIRepository(ns, "with-sa", "oci://"+garHost+"/project/repo/manifests", nil)
	withSA.Spec.Provider = sourcev1.AzureOCIProvider
	withSA.Spec.ServiceAccountName = "puller"
	g.Expect(env.Client.Create(ctx, withSA)).To(Succeed())
	waitNotReady(g, withSA, meta.FeatureGateDisabledReason, "spec.serviceAccountName with provider azure needs the ObjectLevelWorkloadIdentity feature gate")

	notECR := newOCIRepository(ns, "not-ecr", "oci://"+reg.Host()+"/project/repo/manifests", nil)
	notECR.Spec.Provider = sourcev1.AmazonOCIProvider
	g.Expect(env.Client.Create(ctx, notECR)).To(Succeed())
	waitNotReady(g, notECR, cloudauth.InvalidProviderConfigurationReason, "is not an Amazon ECR registry")

	hr := &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Name: "acr", Namespace: ns},
		Spec: sourcev1.HelmRepositorySpec{URL: "oci://" + reg.Host() + "/charts", Type: "oci", Insecure: true, Provider: sourcev1.AzureOCIProvider,
			Interval: metav1.Duration{Duration: time.Hour}}}
	g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
	hc := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Name: "acr-chart", Namespace: ns},
		Spec: sourcev1.HelmChartSpec{Chart: "app", Interval: metav1.Duration{Duration: time.Hour},
			SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.HelmRepositoryKind, Name: "acr"}}}
	g.Expect(env.Client.Create(ctx, hc)).To(Succeed())
	waitNotReady(g, hc, cloudauth.InvalidProviderConfigurationReason, "is not an Azure Container Registry")
}
