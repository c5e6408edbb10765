package uicmd

import (
	"slices"
	"strings"
	"testing"
)

// TestPublicURLOption: --public-url keeps each URL's host (and port) for
// the Origin check and refuses what is not an http(s) URL.
func TestPublicURLOption(t *testing.T) {
	for _, tc := range []struct {
		urls    []string
		want    []string
		wantErr string
	}{
		{urls: nil, want: nil},
		{urls: []string{"https://gotk.example.com", " http://ui.example.com:8443/path "}, want: []string{"gotk.example.com", "ui.example.com:8443"}},
		{urls: []string{"gotk.example.com"}, wantErr: `--public-url "gotk.example.com": want an http or https URL`},
		{urls: []string{"ftp://gotk.example.com"}, wantErr: `--public-url "ftp://gotk.example.com"`},
		{urls: []string{"https://"}, wantErr: `--public-url "https://"`},
	} {
		o, err := uiFlags{publicURLs: tc.urls}.options()
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want %q", tc.urls, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(o.PublicHosts, tc.want) {
			t.Errorf("%q: hosts %q, error %v; want %q", tc.urls, o.PublicHosts, err, tc.want)
		}
	}
}
