package takeover

import "testing"

func TestTakeoverFluxImages(t *testing.T) {
	for _, tt := range []struct {
		image string
		flux  bool
	}{
		{"ghcr.io/fluxcd/kustomize-controller:v1.9.0", true},
		{"docker.io/fluxcd/helm-controller:v1.6.0", true},
		{"fluxcd/source-controller:v1.9.0", true},
		{"registry.example.com/mirror/fluxcd/source-controller@sha256:abc", true},
		{"ghcr.io/gotk/kustomize-controller:v0.1.0", false},
		{"registry.example.com/gotk/source-controller:v0.1.0", false},
		{"example.com/notfluxcd/source-controller:v1", false},
	} {
		if got := isFluxImage(tt.image); got != tt.flux {
			t.Errorf("isFluxImage(%q) = %v, want %v", tt.image, got, tt.flux)
		}
	}
}
