package ui

import (
	"strings"
	"testing"
)

func TestServiceProxyURL(t *testing.T) {
	for _, tc := range []struct{ host, art, want, err string }{
		{"https://10.0.0.1:6443/", "http://source-controller.flux-system.svc.cluster.local./gitrepository/ns/app/abc.tar.gz",
			"https://10.0.0.1:6443/api/v1/namespaces/flux-system/services/source-controller:80/proxy/gitrepository/ns/app/abc.tar.gz", ""},
		{"https://k8s.example/prefix", "http://sc.gotk:9090/a.tar.gz",
			"https://k8s.example/prefix/api/v1/namespaces/gotk/services/sc:9090/proxy/a.tar.gz", ""},
		{"10.0.0.1:6443", "http://sc.ns/a.tar.gz", "https://10.0.0.1:6443/api/v1/namespaces/ns/services/sc:80/proxy/a.tar.gz", ""},
		{"https://k8s", "http://localhost/a.tar.gz", "", "does not name a Service"},
		{"https://k8s", "http://[::1/a", "", "artifact URL"},
	} {
		got, err := serviceProxyURL(tc.host, tc.art)
		if tc.err != "" {
			if err == nil || !contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.art, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s on %s = %q, %v; want %q", tc.art, tc.host, got, err, tc.want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
