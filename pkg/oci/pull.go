package oci

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Flux's OCI artifact format (flux push artifact).
const (
	// FluxConfigMediaType is the config media type of a Flux artifact.
	FluxConfigMediaType = "application/vnd.cncf.flux.config.v1+json"
	// FluxContentMediaType is the layer media type of a Flux artifact.
	FluxContentMediaType = "application/vnd.cncf.flux.content.v1.tar+gzip"
	// SourceAnnotation is the manifest annotation naming the source URL.
	SourceAnnotation = "org.opencontainers.image.source"
	// RevisionAnnotation is the manifest annotation naming the source revision.
	RevisionAnnotation = "org.opencontainers.image.revision"
	// CreatedAnnotation is the manifest annotation with the creation time.
	CreatedAnnotation = "org.opencontainers.image.created"
)

// Image fetches the manifest of ref (layers are read lazily).
func Image(ctx context.Context, ref name.Reference, o Options) (v1.Image, error) {
	img, err := remote.Image(ref, o.remote(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", ref.String(), err)
	}
	return img, nil
}

// Referrers lists the manifests that refer to d as their subject: the
// registry's referrers API, else the referrers tag schema (an empty list
// when neither has any).
func Referrers(ctx context.Context, d name.Digest, o Options) (v1.ImageIndex, error) {
	idx, err := remote.Referrers(d, o.remote(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("listing the referrers of %s: %w", d.String(), err)
	}
	return idx, nil
}
