package controller

import (
	"context"
	"encoding/pem"
	"net"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
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

// tlsFront serves HTTPS on loopback in front of the plain HTTP server at
// targetHost, with a certificate no system root trusts; it returns the
// front's host:port and the PEM of its certificate.
func tlsFront(t *testing.T, targetHost string) (host string, caPEM []byte) {
	t.Helper()
	srv := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: targetHost}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

// hangingServer accepts connections and never answers, so only a client
// deadline ends a request to it; it returns its host:port.
func hangingServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// createSecret creates a Secret of data in ns.
func createSecret(g Gomega, ns, name string, data map[string]string) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, StringData: data}
	g.Expect(env.Client.Create(context.Background(), s)).To(Succeed())
}

// sourceFieldCase is a row of the transport field tables: an object
// setting one field, and either a check of its artifact or the message
// its Ready condition must reach before within (it stays not Ready).
type sourceFieldCase struct {
	name   string
	obj    client.Object
	ready  func(g Gomega)
	failed string
	within time.Duration
}

func runSourceFieldCases(t *testing.T, cases []sourceFieldCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			start := time.Now()
			g.Expect(env.Client.Create(context.Background(), tc.obj)).To(Succeed())
			if tc.ready != nil {
				waitSourceReady(g, tc.obj, tc.ready)
				return
			}
			getter := tc.obj.(conditions.Getter)
			g.Eventually(func(g Gomega) {
				g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(tc.obj), tc.obj)).To(Succeed())
				g.Expect(conditions.IsFalse(getter, meta.ReadyCondition)).To(BeTrue())
				g.Expect(conditions.GetMessage(getter, meta.ReadyCondition)).To(ContainSubstring(tc.failed))
			}, tc.within, 100*time.Millisecond).Should(Succeed())
			t.Logf("%s after %s: %s", conditions.GetReason(getter, meta.ReadyCondition), time.Since(start).Round(time.Second),
				conditions.GetMessage(getter, meta.ReadyCondition))
		})
	}
}

// TestBucketTransportFields: spec.certSecretRef trusts the bucket
// endpoint's CA (without it the endpoint's certificate is refused),
// spec.proxySecretRef sends the requests through the proxy it names, and
// spec.timeout ends a fetch from an endpoint that never answers well
// before the default timeout.
func TestBucketTransportFields(t *testing.T) {
	g := NewWithT(t)
	startOCIHarness(t)
	s3 := testserver.NewS3ForTest(t, testserver.S3Options{})
	g.Expect(s3.CreateBucket("manifests")).To(Succeed())
	g.Expect(s3.PutObject("manifests", "app.yaml", "replicas: 2\n")).To(Succeed())
	ns := env.NewNamespace(t)
	s3Host := strings.TrimPrefix(strings.TrimPrefix(s3.Endpoint(), "http://"), "https://")
	front, caPEM := tlsFront(t, s3Host)
	createSecret(g, ns, "ca", map[string]string{"ca.crt": string(caPEM)})
	const fakeHost = "s3.gotk-test.invalid"
	proxy := testserver.NewForwardProxyForTest(t, s3Host)
	createSecret(g, ns, "proxy", map[string]string{"address": proxy.URL})
	hang := hangingServer(t)

	bucket := func(name, endpoint string, tlsOn bool, mutate func(*sourcev1.BucketSpec)) *sourcev1.Bucket {
		b := newBucket(ns, name, "generic", endpoint, "manifests")
		b.Spec.Insecure = !tlsOn
		mutate(&b.Spec)
		return b
	}
	hasApp := func(b *sourcev1.Bucket) func(g Gomega) {
		return func(g Gomega) {
			g.Expect(b.Status.Artifact).NotTo(BeNil())
			g.Expect(fetchFile(g, b.Status.Artifact, "app.yaml")).To(Equal("replicas: 2\n"))
		}
	}
	withCA := bucket("cert", front, true, func(s *sourcev1.BucketSpec) { s.CertSecretRef = &meta.LocalObjectReference{Name: "ca"} })
	viaProxy := bucket("proxy", fakeHost, false, func(s *sourcev1.BucketSpec) { s.ProxySecretRef = &meta.LocalObjectReference{Name: "proxy"} })
	runSourceFieldCases(t, []sourceFieldCase{
		{name: "certSecretRef", obj: withCA, ready: hasApp(withCA)},
		{name: "no certSecretRef", obj: bucket("no-cert", front, true, func(*sourcev1.BucketSpec) {}),
			failed: "certificate", within: 30 * time.Second},
		{name: "proxySecretRef", obj: viaProxy, ready: func(g Gomega) {
			hasApp(viaProxy)(g)
			g.Expect(proxy.Proxied(fakeHost)).To(BeTrue())
		}},
		{name: "timeout", obj: bucket("timeout", hang, false, func(s *sourcev1.BucketSpec) {
			s.Timeout = &metav1.Duration{Duration: 2 * time.Second}
		}), failed: "deadline", within: 20 * time.Second},
	})
}

// TestOCIRepositoryTransportFields: spec.certSecretRef trusts the
// registry's CA, spec.proxySecretRef sends the pulls through the proxy it
// names, and spec.timeout ends a pull from a registry that never answers
// well before the default timeout.
func TestOCIRepositoryTransportFields(t *testing.T) {
	g := NewWithT(t)
	startOCIHarness(t)
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{})
	ns := env.NewNamespace(t)
	digest := pushArtifact(t, reg.Host()+"/org/app:v1", map[string]string{"app.yaml": "replicas: 3\n"}, "", false, nil)
	front, caPEM := tlsFront(t, reg.Host())
	createSecret(g, ns, "ca", map[string]string{"ca.crt": string(caPEM)})
	const fakeHost = "registry.gotk-test.invalid"
	proxy := testserver.NewForwardProxyForTest(t, reg.Host())
	createSecret(g, ns, "proxy", map[string]string{"address": proxy.URL})
	hang := hangingServer(t)

	repo := func(name, host string, tlsOn bool, mutate func(*sourcev1.OCIRepositorySpec)) *sourcev1.OCIRepository {
		o := newOCIRepository(ns, name, "oci://"+host+"/org/app", &sourcev1.OCIRepositoryRef{Tag: "v1"})
		o.Spec.Insecure = !tlsOn
		mutate(&o.Spec)
		return o
	}
	hasApp := func(o *sourcev1.OCIRepository) func(g Gomega) {
		return func(g Gomega) {
			g.Expect(o.Status.Artifact).NotTo(BeNil())
			g.Expect(o.Status.Artifact.Revision).To(Equal("v1@" + digest))
			g.Expect(fetchFile(g, o.Status.Artifact, "app.yaml")).To(Equal("replicas: 3\n"))
		}
	}
	withCA := repo("cert", front, true, func(s *sourcev1.OCIRepositorySpec) { s.CertSecretRef = &meta.LocalObjectReference{Name: "ca"} })
	viaProxy := repo("proxy", fakeHost, false, func(s *sourcev1.OCIRepositorySpec) {
		s.ProxySecretRef = &meta.LocalObjectReference{Name: "proxy"}
	})
	runSourceFieldCases(t, []sourceFieldCase{
		{name: "certSecretRef", obj: withCA, ready: hasApp(withCA)},
		{name: "no certSecretRef", obj: repo("no-cert", front, true, func(*sourcev1.OCIRepositorySpec) {}),
			failed: "certificate", within: 30 * time.Second},
		{name: "proxySecretRef", obj: viaProxy, ready: func(g Gomega) {
			hasApp(viaProxy)(g)
			g.Expect(proxy.Proxied(fakeHost)).To(BeTrue())
		}},
		{name: "timeout", obj: repo("timeout", hang, false, func(s *sourcev1.OCIRepositorySpec) {
			s.Timeout = &metav1.Duration{Duration: 2 * time.Second}
		}), failed: "deadline", within: 20 * time.Second},
	})
}

// TestHelmRepositoryTransportFields: spec.certSecretRef trusts the
// repository's CA (without it its certificate is refused), and
// spec.timeout ends an index download from a server that never answers
// well before the default timeout.
func TestHelmRepositoryTransportFields(t *testing.T) {
	g := NewWithT(t)
	startOCIHarness(t)
	repoSrv := testserver.NewHelmRepoForTest(t, testserver.HelmRepoOptions{TLS: true})
	g.Expect(repoSrv.AddChart("podinfo", "6.0.0", nil)).To(Succeed())
	ns := env.NewNamespace(t)
	createSecret(g, ns, "ca", map[string]string{"ca.crt": string(repoSrv.CAPEM())})
	hang := hangingServer(t)

	helmRepo := func(name, u string, mutate func(*sourcev1.HelmRepositorySpec)) *sourcev1.HelmRepository {
		r := &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: sourcev1.HelmRepositorySpec{URL: u, Interval: metav1.Duration{Duration: time.Hour}}}
		mutate(&r.Spec)
		return r
	}
	withCA := helmRepo("cert", repoSrv.URL(), func(s *sourcev1.HelmRepositorySpec) {
		s.CertSecretRef = &meta.LocalObjectReference{Name: "ca"}
	})
	runSourceFieldCases(t, []sourceFieldCase{
		{name: "certSecretRef", obj: withCA, ready: func(g Gomega) {
			g.Expect(withCA.Status.Artifact).NotTo(BeNil())
		}},
		{name: "no certSecretRef", obj: helmRepo("no-cert", repoSrv.URL(), func(*sourcev1.HelmRepositorySpec) {}),
			failed: "certificate", within: 30 * time.Second},
		{name: "timeout", obj: helmRepo("timeout", "http://"+hang, func(s *sourcev1.HelmRepositorySpec) {
			s.Timeout = &metav1.Duration{Duration: 2 * time.Second}
		}), failed: "deadline", within: 20 * time.Second},
	})
}

// TestOCIRepositoryInterval: spec.interval alone brings a tag's new
// content in, with no reconcile request and no watch on the registry.
func TestOCIRepositoryInterval(t *testing.T) {
	g := NewWithT(t)
	startOCIHarness(t)
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{})
	ns := env.NewNamespace(t)
	ref := reg.Host() + "/org/app"
	d1 := pushArtifact(t, ref+":latest", map[string]string{"app.yaml": "replicas: 1\n"}, "", false, nil)
	obj := newOCIRepository(ns, "interval", "oci://"+ref, &sourcev1.OCIRepositoryRef{Tag: "latest"})
	obj.Spec.Interval = metav1.Duration{Duration: time.Second}
	g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	waitOCIReady(g, obj, "latest@"+d1)
	d2 := pushArtifact(t, ref+":latest", map[string]string{"app.yaml": "replicas: 2\n"}, "", false, nil)
	waitOCIReady(g, obj, "latest@"+d2)
	g.Expect(obj.Annotations).NotTo(HaveKey(meta.ReconcileRequestAnnotation))
}

// TestHelmChartIgnoreMissingValuesFiles: a valuesFiles entry the chart
// lacks fails the chart, unless spec.ignoreMissingValuesFiles is set, when
// the files present are merged and the missing one skipped.
func TestHelmChartIgnoreMissingValuesFiles(t *testing.T) {
	g := NewWithT(t)
	startOCIHarness(t)
	repoSrv := testserver.NewHelmRepoForTest(t, testserver.HelmRepoOptions{})
	g.Expect(repoSrv.AddChart("podinfo", "6.1.0", map[string]string{"values-prod.yaml": "replicaCount: 3\n"})).To(Succeed())
	ns := env.NewNamespace(t)
	hr := &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: ns},
		Spec: sourcev1.HelmRepositorySpec{URL: repoSrv.URL(), Interval: metav1.Duration{Duration: time.Hour}}}
	g.Expect(env.Client.Create(context.Background(), hr)).To(Succeed())
	chart := func(name string, ignore bool) *sourcev1.HelmChart {
		return &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: sourcev1.HelmChartSpec{Chart: "podinfo", Version: "6.1.0", Interval: metav1.Duration{Duration: time.Hour},
				ValuesFiles:              []string{"values-prod.yaml", "values-missing.yaml"},
				IgnoreMissingValuesFiles: ignore,
				SourceRef:                sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.HelmRepositoryKind, Name: "podinfo"}}}
	}
	ignoring := chart("ignoring", true)
	runSourceFieldCases(t, []sourceFieldCase{
		{name: "ignoreMissingValuesFiles", obj: ignoring, ready: func(g Gomega) {
			g.Expect(ignoring.Status.Artifact).NotTo(BeNil())
			_, _, values := downloadChart(g, ignoring.Status.Artifact)
			g.Expect(values).To(HaveKeyWithValue("replicaCount", BeNumerically("==", 3)))
		}},
		{name: "control: a missing values file fails", obj: chart("strict", false),
			failed: "values-missing.yaml", within: 30 * time.Second},
	})
}

// TestGitRepositoryProxySecretRef: spec.proxySecretRef sends the clone
// through the proxy it names (the URL's host resolves nowhere else).
func TestGitRepositoryProxySecretRef(t *testing.T) {
	g := NewWithT(t)
	startHarness(t)
	ns := env.NewNamespace(t)
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	_, err := srv.CommitFiles("app", "master", map[string]string{"app.yaml": "replicas: 4\n"}, "init")
	g.Expect(err).NotTo(HaveOccurred())
	u, err := url.Parse(srv.URL("app"))
	g.Expect(err).NotTo(HaveOccurred())
	proxy := testserver.NewForwardProxyForTest(t, u.Host)
	createSecret(g, ns, "proxy", map[string]string{"address": proxy.URL})
	const fakeHost = "git.gotk-test.invalid"
	u.Host = fakeHost
	obj := newGitRepository(ns, "proxied", u.String(), nil)
	obj.Spec.ProxySecretRef = &meta.LocalObjectReference{Name: "proxy"}
	runSourceFieldCases(t, []sourceFieldCase{
		{name: "proxySecretRef", obj: obj, ready: func(g Gomega) {
			g.Expect(obj.Status.Artifact).NotTo(BeNil())
			g.Expect(fetchFile(g, obj.Status.Artifact, "app.yaml")).To(Equal("replicas: 4\n"))
			g.Expect(proxy.Proxied(fakeHost)).To(BeTrue())
		}},
		{name: "control: without the proxy the host is unreachable", obj: newGitRepository(ns, "direct", u.String(), nil),
			failed: fakeHost, within: 30 * time.Second},
	})
}

// TestHelmRepositoryPassCredentials: the index is read at localhost and
// its chart URLs name 127.0.0.1 (another host, the same server, which
// asks every request for credentials); the credentials go to the chart
// host only with spec.passCredentials.
func TestHelmRepositoryPassCredentials(t *testing.T) {
	g := NewWithT(t)
	startOCIHarness(t)
	repoSrv := testserver.NewHelmRepoForTest(t, testserver.HelmRepoOptions{Auth: testserver.BasicAuth{Username: "bot", Password: "s3cret"}})
	g.Expect(repoSrv.AddChart("podinfo", "6.1.0", nil)).To(Succeed())
	ns := env.NewNamespace(t)
	createSecret(g, ns, "creds", map[string]string{"username": "bot", "password": "s3cret"})
	u, err := url.Parse(repoSrv.URL())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(u.Hostname()).To(Equal("127.0.0.1"), "the chart URLs name 127.0.0.1")
	u.Host = "localhost:" + u.Port()
	for name, pass := range map[string]bool{"passing": true, "keeping": false} {
		g.Expect(env.Client.Create(context.Background(), &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: sourcev1.HelmRepositorySpec{URL: u.String(), Interval: metav1.Duration{Duration: time.Hour},
				SecretRef: &meta.LocalObjectReference{Name: "creds"}, PassCredentials: pass}})).To(Succeed())
	}
	chart := func(repo string) *sourcev1.HelmChart {
		return &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Name: repo, Namespace: ns},
			Spec: sourcev1.HelmChartSpec{Chart: "podinfo", Version: "6.1.0", Interval: metav1.Duration{Duration: time.Hour},
				SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.HelmRepositoryKind, Name: repo}}}
	}
	passing := chart("passing")
	runSourceFieldCases(t, []sourceFieldCase{
		{name: "passCredentials", obj: passing, ready: func(g Gomega) {
			g.Expect(passing.Status.Artifact).NotTo(BeNil())
			g.Expect(passing.Status.Artifact.Revision).To(Equal("6.1.0"))
		}},
		{name: "control: credentials stay with the index host", obj: chart("keeping"), failed: "Unauthorized", within: 30 * time.Second},
	})
}
