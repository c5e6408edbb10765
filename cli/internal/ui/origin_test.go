package ui

import (
	"net/http/httptest"
	"testing"
)

// TestSameOrigin: a POST is accepted from the UI's own Host, from a public
// host a Host-rewriting proxy serves it at, or with no Origin; any other
// origin is refused.
func TestSameOrigin(t *testing.T) {
	public := []string{"gotk.example.com", "ui.example.com:8443"}
	for _, tc := range []struct {
		name, host, origin, fetchSite string
		public                        []string
		want                          bool
	}{
		{"no origin", "127.0.0.1:9080", "", "", nil, true},
		{"own host", "127.0.0.1:9080", "http://127.0.0.1:9080", "", nil, true},
		{"other site", "127.0.0.1:9080", "https://evil.example", "", nil, false},
		{"other port", "127.0.0.1:9080", "http://127.0.0.1:9081", "", nil, false},
		{"rewritten host, no public url", "gotk-ui.flux-system.svc:9292", "https://gotk.example.com", "", nil, false},
		{"rewritten host, public url", "gotk-ui.flux-system.svc:9292", "https://gotk.example.com", "", public, true},
		{"public url with port", "gotk-ui.flux-system.svc:9292", "https://ui.example.com:8443", "", public, true},
		{"public host, other port", "gotk-ui.flux-system.svc:9292", "https://ui.example.com", "", public, false},
		{"null origin, same-origin fetch", "127.0.0.1:9080", "null", "same-origin", nil, true},
		{"null origin, cross-site fetch", "127.0.0.1:9080", "null", "cross-site", nil, false},
		{"unparsable origin", "127.0.0.1:9080", "::", "", public, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "http://"+tc.host+"/action", nil)
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			if tc.fetchSite != "" {
				r.Header.Set("Sec-Fetch-Site", tc.fetchSite)
			}
			if got := sameOrigin(r, tc.public); got != tc.want {
				t.Fatalf("sameOrigin(Host %s, Origin %q) = %v, want %v", tc.host, tc.origin, got, tc.want)
			}
		})
	}
}
