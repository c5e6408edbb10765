package bucket

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// transport is the HTTP transport of every provider's client: the
// default one (which honours HTTPS_PROXY and friends) with the TLS
// settings of spec.certSecretRef (nil: system roots) and the proxy of
// spec.proxySecretRef, which takes precedence over the environment.
func transport(cfg *tls.Config, proxy *url.URL) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	if proxy != nil {
		tr.Proxy = http.ProxyURL(proxy)
	}
	return tr
}

// CheckScheme refuses an endpoint URL that asks for plain HTTP when
// insecure is not set: spec.insecure is what allows HTTP. An endpoint
// without a scheme is HTTPS, or HTTP with insecure.
func CheckScheme(endpoint string, insecure bool) error {
	scheme, _, ok := strings.Cut(endpoint, "://")
	if ok && strings.EqualFold(scheme, "http") && !insecure {
		return fmt.Errorf("endpoint %q is plain HTTP: set spec.insecure to allow it", endpoint)
	}
	return nil
}
