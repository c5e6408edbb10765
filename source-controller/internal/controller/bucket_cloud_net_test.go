package controller

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testserver"
)

// selfSignedPEM is a new self-signed certificate for usage and its key,
// PEM-encoded: a client certificate, or a CA no server uses.
func selfSignedPEM(t *testing.T, cn string, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// mtlsFront serves HTTPS on loopback in front of the plain HTTP server at
// targetHost and requires a client certificate: it returns the front's
// host:port and a Secret's data trusting the front's certificate and
// holding the one client certificate it accepts.
func mtlsFront(t *testing.T, targetHost string) (host string, certData map[string]string) {
	t.Helper()
	clientCert, clientKey := selfSignedPEM(t, "gotk-bucket-client", x509.ExtKeyUsageClientAuth)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(clientCert)
	srv := httptest.NewUnstartedServer(httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: targetHost}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return srv.Listener.Addr().String(), map[string]string{"ca.crt": string(caPEM), "tls.crt": string(clientCert), "tls.key": string(clientKey)}
}

// TestBucketCloudTransportFields: with providers gcp and azure,
// spec.certSecretRef's CA and client certificate reach an endpoint that
// requires them (a CA that did not sign the endpoint's certificate, or no
// client certificate, is refused saying so), spec.proxySecretRef carries
// the requests (the endpoint's host resolves nowhere; for gcp the key's
// token exchange too), and a plain-HTTP endpoint URL without
// spec.insecure, or a certSecretRef Secret without TLS keys, is refused
// with its reason.
func TestBucketCloudTransportFields(t *testing.T) {
	g := NewWithT(t)
	startOCIHarness(t)
	ns := env.NewNamespace(t)

	gcs := testserver.NewGCSForTest(t, testserver.GCSOptions{})
	gcs.CreateBucket("manifests")
	gcs.PutObject("manifests", "app.yaml", "replicas: 2\n")
	createSecret(g, ns, "gcp-sa", map[string]string{"serviceaccount": string(gcs.ServiceAccountJSON("reader@project.iam.gserviceaccount.com"))})
	blob := newAzureBlobForTest(t)
	createSecret(g, ns, "azure-key", map[string]string{"accountKey": azureTestKey})
	createSecret(g, ns, "azure-sas", map[string]string{"sasKey": "sv=2023-11-03&sp=rl&sig=sas-sig"})
	blobURL, err := url.Parse(blob.Endpoint())
	g.Expect(err).NotTo(HaveOccurred())

	gcsFront, gcsCerts := mtlsFront(t, gcs.Endpoint())
	createSecret(g, ns, "gcs-tls", gcsCerts)
	blobFront, blobCerts := mtlsFront(t, blobURL.Host)
	createSecret(g, ns, "blob-tls", blobCerts)
	createSecret(g, ns, "gcs-ca-only", map[string]string{"ca.crt": gcsCerts["ca.crt"]})
	otherCA, _ := selfSignedPEM(t, "not the endpoint's CA", x509.ExtKeyUsageServerAuth)
	createSecret(g, ns, "blob-wrong-ca", map[string]string{"ca.crt": string(otherCA), "tls.crt": blobCerts["tls.crt"], "tls.key": blobCerts["tls.key"]})
	createSecret(g, ns, "no-tls-keys", map[string]string{"ca.pem": gcsCerts["ca.crt"]})

	const gcsHost, blobHost = "storage.gotk-test.invalid", "gotkstore.blob.gotk-test.invalid"
	gcsProxy := testserver.NewForwardProxyForTest(t, gcs.Endpoint())
	createSecret(g, ns, "gcs-proxy", map[string]string{"address": gcsProxy.URL})
	blobProxy := testserver.NewForwardProxyForTest(t, blobURL.Host)
	createSecret(g, ns, "blob-proxy", map[string]string{"address": blobProxy.URL})

	ref := func(name string) *meta.LocalObjectReference { return &meta.LocalObjectReference{Name: name} }
	gcp := func(name, endpoint string, insecure bool, mutate func(*sourcev1.BucketSpec)) *sourcev1.Bucket {
		b := newBucket(ns, name, sourcev1.BucketProviderGoogle, endpoint, "manifests")
		b.Spec.Insecure, b.Spec.SecretRef = insecure, ref("gcp-sa")
		mutate(&b.Spec)
		return b
	}
	azure := func(name, endpoint string, insecure bool, secret string, mutate func(*sourcev1.BucketSpec)) *sourcev1.Bucket {
		b := newBucket(ns, name, sourcev1.BucketProviderAzure, endpoint, "manifests")
		b.Spec.Insecure, b.Spec.SecretRef = insecure, ref(secret)
		mutate(&b.Spec)
		return b
	}
	hasApp := func(g Gomega, b *sourcev1.Bucket, file, content string) {
		g.Expect(b.Status.Artifact).NotTo(BeNil())
		g.Expect(fetchFile(g, b.Status.Artifact, file)).To(Equal(content))
	}
	for _, tc := range []struct {
		name        string
		obj         *sourcev1.Bucket
		ready       func(g Gomega, b *sourcev1.Bucket)
		reason, msg string
	}{
		{name: "gcp certSecretRef", obj: gcp("gcp-mtls", gcsFront, false, func(s *sourcev1.BucketSpec) { s.CertSecretRef = ref("gcs-tls") }),
			ready: func(g Gomega, b *sourcev1.Bucket) { hasApp(g, b, "app.yaml", "replicas: 2\n") }},
		{name: "gcp no client certificate", obj: gcp("gcp-ca-only", gcsFront, false, func(s *sourcev1.BucketSpec) { s.CertSecretRef = ref("gcs-ca-only") }),
			reason: sourcev1.BucketOperationFailedReason, msg: "certificate required"},
		{name: "gcp no certSecretRef", obj: gcp("gcp-no-cert", gcsFront, false, func(*sourcev1.BucketSpec) {}),
			reason: sourcev1.BucketOperationFailedReason, msg: "its certificate is not signed by a trusted CA (trust its CA with 'ca.crt' in spec.certSecretRef)"},
		{name: "gcp proxySecretRef", obj: gcp("gcp-proxy", gcsHost, true, func(s *sourcev1.BucketSpec) { s.ProxySecretRef = ref("gcs-proxy") }),
			ready: func(g Gomega, b *sourcev1.Bucket) {
				hasApp(g, b, "app.yaml", "replicas: 2\n")
				g.Expect(gcsProxy.Proxied(gcsHost)).To(BeTrue(), "bucket requests")
				g.Expect(gcsProxy.Proxied(gcs.Endpoint())).To(BeTrue(), "the key's token exchange")
			}},
		{name: "gcp plain HTTP without insecure", obj: gcp("gcp-http", "http://"+gcs.Endpoint(), false, func(*sourcev1.BucketSpec) {}),
			reason: sourcev1.URLInvalidReason, msg: `provider gcp: endpoint "http://` + gcs.Endpoint() + `" is plain HTTP: set spec.insecure to allow it`},
		{name: "gcp certSecretRef without TLS keys", obj: gcp("gcp-no-keys", gcsFront, false, func(s *sourcev1.BucketSpec) { s.CertSecretRef = ref("no-tls-keys") }),
			reason: sourcev1.AuthenticationFailedReason, msg: "secret 'no-tls-keys' of spec.certSecretRef holds none of 'ca.crt', 'tls.crt' and 'tls.key'"},
		{name: "azure certSecretRef", obj: azure("azure-mtls", "https://"+blobFront+"/gotkstore", false, "azure-key", func(s *sourcev1.BucketSpec) { s.CertSecretRef = ref("blob-tls") }),
			ready: func(g Gomega, b *sourcev1.Bucket) { hasApp(g, b, "prod/c/d.yaml", "d: 1\n") }},
		{name: "azure wrong CA", obj: azure("azure-wrong-ca", "https://"+blobFront+"/gotkstore", false, "azure-key", func(s *sourcev1.BucketSpec) { s.CertSecretRef = ref("blob-wrong-ca") }),
			reason: sourcev1.BucketOperationFailedReason, msg: "its certificate is not signed by a trusted CA (trust its CA with 'ca.crt' in spec.certSecretRef)"},
		{name: "azure proxySecretRef", obj: azure("azure-proxy", "http://"+blobHost+"/gotkstore", true, "azure-sas", func(s *sourcev1.BucketSpec) { s.ProxySecretRef = ref("blob-proxy") }),
			ready: func(g Gomega, b *sourcev1.Bucket) {
				hasApp(g, b, "prod/c/d.yaml", "d: 1\n")
				g.Expect(blobProxy.Proxied(blobHost)).To(BeTrue())
			}},
		{name: "azure plain HTTP without insecure", obj: azure("azure-http", blob.Endpoint(), false, "azure-key", func(*sourcev1.BucketSpec) {}),
			reason: sourcev1.URLInvalidReason, msg: "provider azure: endpoint \"" + blob.Endpoint() + "\" is plain HTTP: set spec.insecure to allow it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(env.Client.Create(t.Context(), tc.obj)).To(Succeed())
			// A refused Bucket would be retried for the tests after this one.
			t.Cleanup(func() { _ = env.Client.Delete(context.Background(), tc.obj) })
			if tc.ready != nil {
				waitSourceReady(g, tc.obj, func(g Gomega) { tc.ready(g, tc.obj) })
				return
			}
			waitNotReady(g, tc.obj, tc.reason, tc.msg)
			t.Logf("%s: %s", tc.reason, conditions.GetMessage(tc.obj, meta.ReadyCondition))
			// The message names the endpoint's problem, never the Secret's content.
			g.Expect(conditions.GetMessage(tc.obj, meta.ReadyCondition)).NotTo(ContainSubstring("PRIVATE KEY"))
		})
	}
}
