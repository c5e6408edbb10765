package oci

import (
	"bytes"
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"gotk.dev/pkg/artifact/tarball"
)

// PushDir pushes the files under dir to ref as a Flux artifact, the way
// `flux push artifact` does: one gzip tarball layer of Flux's content
// type, Flux's config type, and the revision and source annotations that
// an OCIRepository reports. It returns the manifest digest.
func PushDir(ctx context.Context, ref name.Reference, dir, revision, source string, o Options) (string, error) {
	var buf bytes.Buffer
	if err := tarball.Archive(&buf, dir, nil); err != nil {
		return "", err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), FluxConfigMediaType)
	img, err := mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(buf.Bytes(), FluxContentMediaType)})
	if err != nil {
		return "", err
	}
	img = mutate.Annotations(img, map[string]string{RevisionAnnotation: revision, SourceAnnotation: source}).(v1.Image)
	if err := remote.Write(ref, img, o.remote(ctx)...); err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return "", err
	}
	return digest.String(), nil
}
