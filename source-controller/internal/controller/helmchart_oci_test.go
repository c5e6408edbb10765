package controller

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	. "github.com/onsi/gomega"
	helmcommon "helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/oci"
	"gotk.dev/pkg/testserver"
	"gotk.dev/source-controller/internal/cosign/cosigntest"
)

// pushOCIChart packages chart name at version and pushes it as Helm does
// (tag = version with "+" written "_"); it returns the manifest digest.
func pushOCIChart(g Gomega, t *testing.T, repo name.Repository, chartName, version string, auth authn.Authenticator) string {
	ch := &chart.Chart{Metadata: &chart.Metadata{APIVersion: "v2", Name: chartName, Version: version},
		Templates: []*helmcommon.File{{Name: "templates/cm.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")}}}
	path, err := chartutil.Save(ch, t.TempDir())
	g.Expect(err).NotTo(HaveOccurred())
	data, err := os.ReadFile(path)
	g.Expect(err).NotTo(HaveOccurred())
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), "application/vnd.cncf.helm.config.v1+json")
	img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(data, oci.HelmChartContentMediaType)})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(remote.Write(repo.Tag(strings.ReplaceAll(version, "+", "_")), img, remote.WithAuth(auth))).To(Succeed())
	digest, err := img.Digest()
	g.Expect(err).NotTo(HaveOccurred())
	return digest.String()
}

// HelmCharts from an OCI HelmRepository: the version picked from the tags
// (or given exactly), the registry's credentials from the HelmRepository,
// and spec.verify checking cosign signatures before the chart is pulled.
func TestHelmChartFromOCIHelmRepository(t *testing.T) {
	g := NewWithT(t)
	h := startOCIHarness(t)
	ctx := context.Background()
	creds := testserver.BasicAuth{Username: "u", Password: "p"}
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{Auth: creds})
	auth := &authn.Basic{Username: "u", Password: "p"}
	ns := env.NewNamespace(t)
	repo, err := name.NewRepository(reg.Host()+"/charts/app", name.Insecure)
	g.Expect(err).NotTo(HaveOccurred())
	digests := map[string]string{}
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0+build.1", "2.0.0"} {
		digests[v] = pushOCIChart(g, t, repo, "app", v, auth)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	g.Expect(err).NotTo(HaveOccurred())
	sig, err := cosigntest.SignWithKey(cosigntest.Payload(repo, digests["1.1.0"]), key)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cosigntest.Push(repo, digests["1.1.0"], []cosigntest.Layer{sig}, remote.WithAuth(auth))).To(Succeed())

	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "registry", Namespace: ns}, Data: map[string][]byte{"username": []byte("u"), "password": []byte("p")}},
		{ObjectMeta: metav1.ObjectMeta{Name: "cosign", Namespace: ns}, Data: map[string][]byte{"cosign.pub": publicKeyPEM(g, key)}},
	} {
		g.Expect(env.Client.Create(ctx, s)).To(Succeed())
	}
	for hrName, secret := range map[string]*meta.LocalObjectReference{"charts": {Name: "registry"}, "no-creds": nil} {
		hr := &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Name: hrName, Namespace: ns},
			Spec: sourcev1.HelmRepositorySpec{URL: "oci://" + reg.Host() + "/charts", Type: "oci", Insecure: true, SecretRef: secret,
				Interval: metav1.Duration{Duration: time.Hour}}}
		g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
	}
	newChart := func(objName, source, version string, verify bool) *sourcev1.HelmChart {
		hc := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Name: objName, Namespace: ns},
			Spec: sourcev1.HelmChartSpec{Chart: "app", Version: version, Interval: metav1.Duration{Duration: time.Hour},
				SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.HelmRepositoryKind, Name: source}}}
		if verify {
			hc.Spec.Verify = &sourcev1.OCIVerification{Provider: sourcev1.CosignVerificationProvider, SecretRef: &meta.LocalObjectReference{Name: "cosign"}}
		}
		g.Expect(env.Client.Create(ctx, hc)).To(Succeed())
		return hc
	}

	for objName, tc := range map[string]struct{ version, want string }{
		"range": {"1.x", "1.2.0+build.1"},
		"exact": {"1.0.0", "1.0.0"},
		"any":   {"", "2.0.0"},
	} {
		hc := newChart(objName, "charts", tc.version, false)
		waitSourceReady(g, hc, func(g Gomega) {
			g.Expect(hc.Status.Artifact).NotTo(BeNil())
			g.Expect(hc.Status.Artifact.Revision).To(Equal(tc.want))
		})
		chartName, version, _ := downloadChart(g, hc.Status.Artifact)
		g.Expect([]string{chartName, version}).To(Equal([]string{"app", tc.want}), objName)
	}

	verified := newChart("verified", "charts", "1.1.0", true)
	waitSourceReady(g, verified, func(g Gomega) { g.Expect(verified.Status.Artifact).NotTo(BeNil()) })
	g.Expect(conditions.GetMessage(verified, sourcev1.SourceVerifiedCondition)).To(Equal(
		"verified signature of revision '1.1.0' with key 'cosign.pub'"))

	expect := func(hc *sourcev1.HelmChart, reason, message string) {
		g.Eventually(func(g Gomega) {
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(hc), hc)).To(Succeed())
			g.Expect(conditions.GetReason(hc, meta.ReadyCondition)).To(Equal(reason), hc.Name)
			g.Expect(conditions.GetMessage(hc, meta.ReadyCondition)).To(ContainSubstring(message), hc.Name)
		}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
		g.Expect(hc.Status.Artifact).To(BeNil(), hc.Name)
	}
	unsigned := newChart("unsigned", "charts", "2.0.0", true)
	expect(unsigned, sourcev1.VerificationError, "signature verification of '2.0.0' failed: no signature found for '"+digests["2.0.0"]+"'")
	g.Expect(conditions.IsFalse(unsigned, sourcev1.SourceVerifiedCondition)).To(BeTrue())
	expect(newChart("no-creds", "no-creds", "1.0.0", false), sourcev1.AuthenticationFailedReason, "refused the credentials")
	expect(newChart("no-match", "charts", "3.x", false), chartPullFailedReason, "no chart version of 'app' matches '3.x'")

	// Dependencies of a chart from a source, in the registry by URL or by
	// alias: resolved with the HelmRepository's credentials.
	storeGitSource(g, t, h, ns, "umbrella", map[string]string{
		"by-url/Chart.yaml":   "apiVersion: v2\nname: by-url\nversion: 0.1.0\ndependencies:\n- name: app\n  version: 1.x\n  repository: oci://" + reg.Host() + "/charts/\n",
		"by-alias/Chart.yaml": "apiVersion: v2\nname: by-alias\nversion: 0.1.0\ndependencies:\n- name: app\n  version: 1.0.0\n  repository: \"@charts\"\n",
	})
	for objName, want := range map[string]string{"by-url": "app-1.2.0+build.1", "by-alias": "app-1.0.0"} {
		hc := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Name: objName, Namespace: ns},
			Spec: sourcev1.HelmChartSpec{Chart: objName, Interval: metav1.Duration{Duration: time.Hour},
				SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "umbrella"}}}
		g.Expect(env.Client.Create(ctx, hc)).To(Succeed())
		waitSourceReady(g, hc, func(g Gomega) { g.Expect(hc.Status.Artifact).NotTo(BeNil()) })
		g.Expect(dependencyVersions(g, hc.Status.Artifact)).To(ConsistOf(want), objName)
	}

	// Verification of charts from an index is not something Flux offers either.
	g.Expect(env.Client.Create(ctx, &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Name: "index", Namespace: ns},
		Spec: sourcev1.HelmRepositorySpec{URL: "http://127.0.0.1:1", Interval: metav1.Duration{Duration: time.Hour}, Suspend: true}})).To(Succeed())
	fromIndex := newChart("from-index", "index", "1.0.0", true)
	expect(fromIndex, verificationNotSupportedReason, "spec.verify is only supported for charts from OCI HelmRepositories")
	g.Expect(conditions.IsStalled(fromIndex)).To(BeTrue())
}
