package server

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"

	"gotk.dev/notification-controller/internal/notifier"
	notificationv1 "gotk.dev/pkg/apis/notification/v1beta3"
	"gotk.dev/pkg/testserver"
)

// TestProviderTLSAndProxy: certSecretRef trusts a private CA, a Provider
// without it fails the TLS handshake, and proxySecretRef routes through
// the proxy (the sink stands in for it and records the proxied request).
func TestProviderTLSAndProxy(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	h := start(t)
	ns := env.NewNamespace(t)

	got := make(chan string, 1)
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
	}))
	// The untrusted case fails the handshake on purpose; keep it out of the output.
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw})
	h.create(t, secret(ns, "ca", map[string]string{"ca.crt": string(caPEM)}))
	h.create(t, secret(ns, "bad-ca", map[string]string{"ca.crt": "not a pem"}))

	ev := newEvent("Kustomization", "apps", ns, "info", "applied")
	post := func(p *notificationv1.Provider) error {
		cfg, err := resolveConfig(ctx, env.Client, p, testRetry)
		if err != nil {
			return err
		}
		cfg.Timeout = 2 * time.Second
		n, err := notifier.New(cfg)
		if err != nil {
			return err
		}
		return n.Post(ctx, &ev)
	}

	trusted := provider(ns, "tls", "generic", notificationv1.ProviderSpec{Address: tlsSrv.URL,
		CertSecretRef: &meta.LocalObjectReference{Name: "ca"}})
	g.Expect(post(trusted)).To(Succeed())
	g.Expect(<-got).To(ContainSubstring(`"message":"applied"`))

	untrusted := provider(ns, "tls", "generic", notificationv1.ProviderSpec{Address: tlsSrv.URL})
	g.Expect(post(untrusted)).To(MatchError(ContainSubstring("certificate")))

	badCA := provider(ns, "tls", "generic", notificationv1.ProviderSpec{Address: tlsSrv.URL,
		CertSecretRef: &meta.LocalObjectReference{Name: "bad-ca"}})
	g.Expect(post(badCA)).To(MatchError("cert secret bad-ca: `ca.crt` holds no PEM certificate"))

	proxy := testserver.NewWebhookSinkForTest(t)
	h.create(t, secret(ns, "proxy", map[string]string{"address": proxy.URL(), "username": "u", "password": "proxy-pass"}))
	proxied := provider(ns, "proxied", "generic", notificationv1.ProviderSpec{Address: "http://chat.invalid/hooks/x",
		ProxySecretRef: &meta.LocalObjectReference{Name: "proxy"}})
	g.Expect(post(proxied)).To(Succeed())
	reqs := proxy.Requests()
	g.Expect(reqs).To(HaveLen(1))
	g.Expect(reqs[0].Path).To(Equal("/hooks/x"))
	g.Expect(reqs[0].Header.Get("Proxy-Authorization")).To(HavePrefix("Basic "))

	missing := provider(ns, "m", "generic", notificationv1.ProviderSpec{Address: "http://x.invalid",
		ProxySecretRef: &meta.LocalObjectReference{Name: "absent"}})
	err := post(missing)
	g.Expect(err).To(MatchError(ContainSubstring("reading secret absent")))
	g.Expect(strings.Contains(err.Error(), "proxy-pass")).To(BeFalse())
}
