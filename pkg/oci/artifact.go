package oci

import (
	"bytes"
	"context"
	"fmt"
	"maps"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"gotk.dev/pkg/artifact/tarball"
)

// PushArtifact pushes the files under dir to ref in Flux's artifact
// format (one gzip tarball layer of FluxContentMediaType, config of
// FluxConfigMediaType) with the given manifest annotations, leaving out
// what filter excludes (nil keeps everything). It returns the manifest
// digest.
func PushArtifact(ctx context.Context, ref name.Reference, dir string, filter tarball.Filter, annotations map[string]string, o Options) (string, error) {
	var buf bytes.Buffer
	if err := tarball.Archive(&buf, dir, filter); err != nil {
		return "", err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), FluxConfigMediaType)
	img, err := mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(buf.Bytes(), FluxContentMediaType)})
	if err != nil {
		return "", err
	}
	if len(annotations) > 0 {
		img = mutate.Annotations(img, maps.Clone(annotations)).(v1.Image)
	}
	if err := remote.Write(ref, img, o.remote(ctx)...); err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return "", err
	}
	return digest.String(), nil
}

// PullArtifact extracts the content layer of the artifact at ref into dir
// and returns the artifact's manifest.
func PullArtifact(ctx context.Context, ref name.Reference, dir string, o Options) (*v1.Manifest, error) {
	img, err := Image(ctx, ref, o)
	if err != nil {
		return nil, err
	}
	manifest, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading the manifest of %s: %w", ref, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	if len(layers) == 0 {
		return nil, fmt.Errorf("artifact %s has no layers", ref)
	}
	// Flux's content layer when present, else the first (as source-controller).
	layer := layers[0]
	for i, l := range manifest.Layers {
		if l.MediaType == FluxContentMediaType {
			layer = layers[i]
			break
		}
	}
	rc, err := layer.Compressed()
	if err != nil {
		return nil, fmt.Errorf("fetching the layer of %s: %w", ref, err)
	}
	defer rc.Close()
	if err := tarball.Untar(rc, dir, tarball.DefaultLimits()); err != nil {
		return nil, fmt.Errorf("extracting %s: %w", ref, err)
	}
	return manifest, nil
}

// Tag adds tag to the manifest ref points at.
func Tag(ctx context.Context, ref name.Reference, tag string, o Options) error {
	desc, err := remote.Get(ref, o.remote(ctx)...)
	if err != nil {
		return fmt.Errorf("fetching %s: %w", ref, err)
	}
	if err := remote.Tag(ref.Context().Tag(tag), desc, o.remote(ctx)...); err != nil {
		return fmt.Errorf("tagging %s as %s: %w", ref, tag, err)
	}
	return nil
}
