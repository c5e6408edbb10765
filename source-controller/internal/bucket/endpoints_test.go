package bucket

import (
	"net/url"
	"testing"
)

// TestBucketAzureEndpointForms: the storage account comes from the
// host's first label, or for an emulator's IP or localhost address from
// the first path segment; a SAS is a query string or a URL holding one.
func TestBucketAzureEndpointForms(t *testing.T) {
	for _, tc := range []struct{ endpoint, account, err string }{
		{endpoint: "https://gotkstore.blob.core.windows.net", account: "gotkstore"},
		{endpoint: "https://gotkstore.blob.core.chinacloudapi.cn/", account: "gotkstore"},
		{endpoint: "http://127.0.0.1:10000/devstoreaccount1", account: "devstoreaccount1"},
		{endpoint: "http://localhost:10000/devstoreaccount1/", account: "devstoreaccount1"},
		{endpoint: "http://127.0.0.1:10000", err: `endpoint "http://127.0.0.1:10000" names no storage account: use http(s)://<host>/<account>`},
		{endpoint: "https://blobhost", err: `endpoint "https://blobhost" names no storage account: use https://<account>.blob.core.windows.net`},
	} {
		u, _ := url.Parse(tc.endpoint)
		account, err := AzureAccountName(u)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: error %v, want %q", tc.endpoint, err, tc.err)
			}
			continue
		}
		if err != nil || account != tc.account {
			t.Errorf("%s: account %q (%v), want %q", tc.endpoint, account, err, tc.account)
		}
	}
	for _, tc := range []struct {
		token, sig string
		ok         bool
	}{
		{token: "sv=2023-11-03&sp=rl&sig=abc%2B", sig: "abc+", ok: true},
		{token: "?sv=2023-11-03&sig=abc", sig: "abc", ok: true},
		{token: "https://gotkstore.blob.core.windows.net/?sv=2023-11-03&sig=xyz", sig: "xyz", ok: true},
		{token: "sv=2023-11-03&sp=rl"},
		{token: "%zz"},
	} {
		q, err := sasQuery(tc.token)
		if !tc.ok {
			if err == nil {
				t.Errorf("%q: accepted as a SAS", tc.token)
			}
			continue
		}
		if err != nil || q.Get("sig") != tc.sig {
			t.Errorf("%q: sig %q (%v), want %q", tc.token, q.Get("sig"), err, tc.sig)
		}
	}
}

// TestBucketGCPEndpointForms: an endpoint host or URL becomes the JSON
// API's base URL, over plain HTTP only when insecure and given without a
// scheme.
func TestBucketGCPEndpointForms(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		insecure bool
		want     string
	}{
		{endpoint: "gcs.internal:4443", want: "https://gcs.internal:4443/storage/v1/"},
		{endpoint: "127.0.0.1:4443", insecure: true, want: "http://127.0.0.1:4443/storage/v1/"},
		{endpoint: "https://gcs.internal/", insecure: true, want: "https://gcs.internal/storage/v1/"},
		{endpoint: "http://127.0.0.1:4443/storage/v1", want: "http://127.0.0.1:4443/storage/v1/"},
	} {
		if got := gcsEndpoint(tc.endpoint, tc.insecure); got != tc.want {
			t.Errorf("%s (insecure %v): %s, want %s", tc.endpoint, tc.insecure, got, tc.want)
		}
	}
}
