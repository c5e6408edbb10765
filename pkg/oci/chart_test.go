package oci

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"gotk.dev/pkg/testserver"
)

// TestChartVersion resolves chart versions against a registry's tags,
// "+" stored as "_" as Helm pushes them.
func TestChartVersion(t *testing.T) {
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{})
	repo, err := ChartRepository("oci://"+reg.Host()+"/charts/", "app", true)
	if err != nil {
		t.Fatal(err)
	}
	if repo.Name() != reg.Host()+"/charts/app" {
		t.Fatalf("repository %s", repo.Name())
	}
	pushTags(t, repo, authn.Anonymous, "1.0.0", ChartTag("1.2.0+build.1"), "2.0.0")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tc := range []struct{ constraint, want, err string }{
		{constraint: "1.x", want: "1.2.0+build.1"},
		{constraint: "", want: "2.0.0"},
		{constraint: "3.1.4", want: "3.1.4"}, // exact: not listed, as Helm does
		{constraint: "9.x", err: "no chart version"},
	} {
		got, err := ChartVersion(ctx, repo, tc.constraint, Options{Insecure: true})
		switch {
		case tc.err != "" && !errors.Is(err, ErrNoChartVersion):
			t.Errorf("%q: error %v, want ErrNoChartVersion", tc.constraint, err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%q: %q, %v; want %q", tc.constraint, got, err, tc.want)
		}
	}
	if _, err := ChartRepository("https://"+reg.Host(), "app", true); err == nil {
		t.Error("an https:// URL was taken for an OCI repository")
	}
}

// TestSelectLayer picks layers as an OCIRepository's layerSelector does.
func TestSelectLayer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		layers []string // media types; each layer's content is its media type
		sel    string
		want   string // content of the chosen layer, "" for an error
	}{
		{name: "selector", layers: []string{FluxContentMediaType, HelmChartContentMediaType}, sel: HelmChartContentMediaType, want: HelmChartContentMediaType},
		{name: "flux content by default", layers: []string{"a", FluxContentMediaType}, want: FluxContentMediaType},
		{name: "the only layer", layers: []string{HelmChartContentMediaType}, want: HelmChartContentMediaType},
		{name: "no such media type", layers: []string{"a"}, sel: "b"},
		{name: "ambiguous", layers: []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := empty.Image
			for _, m := range tc.layers {
				var err error
				if img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer([]byte(m), types.MediaType(m))}); err != nil {
					t.Fatal(err)
				}
			}
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			layer, err := SelectLayer(img, m, tc.sel)
			if tc.want == "" {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := ReadLayer(layer, 1<<10)
			if err != nil || string(data) != tc.want {
				t.Fatalf("layer %q, %v; want %q", data, err, tc.want)
			}
			if _, err := ReadLayer(layer, 1); err == nil {
				t.Error("ReadLayer read past its limit")
			}
		})
	}
}
