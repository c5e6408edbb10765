package oci

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"
)

// PushDir pushes the files under dir to ref as a Flux artifact, the way
// `flux push artifact` does: one gzip tarball layer of Flux's content
// type, Flux's config type, and the revision and source annotations that
// an OCIRepository reports. It returns the manifest digest.
func PushDir(ctx context.Context, ref name.Reference, dir, revision, source string, o Options) (string, error) {
	return PushArtifact(ctx, ref, dir, nil, map[string]string{RevisionAnnotation: revision, SourceAnnotation: source}, o)
}
