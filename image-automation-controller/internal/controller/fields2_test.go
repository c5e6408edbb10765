package controller

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	imagev1 "gotk.dev/pkg/apis/image/v1"
	"gotk.dev/pkg/testserver"
)

// TestImageRepositoryProxyAndInsecure: the image names a host that
// resolves nowhere, reached only through spec.proxySecretRef's proxy; the
// proxy carries plain HTTP only, so spec.insecure (plain HTTP to a
// non-loopback host) is what lets the scan through, and without it the
// scan fails.
func TestImageRepositoryProxyAndInsecure(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{})
	img, err := random.Image(64, 1)
	g.Expect(err).NotTo(HaveOccurred())
	repo, err := name.NewRepository(reg.Host() + "/org/app")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(remote.Write(repo.Tag("1.2.3"), img)).To(Succeed())
	proxy := testserver.NewForwardProxyForTest(t, reg.Host())
	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "proxy"},
		StringData: map[string]string{"address": proxy.URL}})).To(Succeed())
	const fakeHost = "registry.gotk-test.invalid"

	newRepo := func(name string, proxied, insecure bool) *imagev1.ImageRepository {
		r := &imagev1.ImageRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: imagev1.ImageRepositorySpec{Image: fakeHost + "/org/app", Insecure: insecure,
				Interval: metav1.Duration{Duration: time.Hour}}}
		if proxied {
			r.Spec.ProxySecretRef = &metaRef{Name: "proxy"}
		}
		return r
	}
	cases := []struct {
		name              string
		proxied, insecure bool
		failure           string // empty: the scan succeeds
	}{
		{name: "proxySecretRef and insecure", proxied: true, insecure: true},
		{name: "control: without insecure the scan wants HTTPS", proxied: true, failure: fakeHost},
		{name: "control: without the proxy the host is unreachable", insecure: true, failure: fakeHost},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := newRepo([]string{"both", "no-insecure", "no-proxy"}[i], tc.proxied, tc.insecure)
			NewWithT(t).Expect(env.Client.Create(ctx, obj)).To(Succeed())
			if tc.failure != "" {
				notReady(t, obj, imagev1.ReadOperationFailedReason, tc.failure)
				return
			}
			obj = readyTrue(t, obj)
			NewWithT(t).Expect(obj.Status.LastScanResult.LatestTags).To(Equal([]string{"1.2.3"}))
			NewWithT(t).Expect(proxy.Proxied(fakeHost)).To(BeTrue())
		})
	}
}
